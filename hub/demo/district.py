"""The demo district: streets, communities, grid cells, the departments' own codes, name pools.

Chaoyang district of Beijing (110105) stands in for "a district". The standard community code
is 6 county + 3 street + 3 community digits; a standard grid code adds a 3-digit grid number.
Civil affairs numbers communities its own way ("MZ" codes) and human resources divides the
district into its own service areas ("RS-" codes); the crosswalk maps both to the standard.
Faker is used only here, and only to read its zh_CN word lists once: never per person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
from faker.providers.address.zh_CN import Provider as AddressProvider
from faker.providers.person.zh_CN import Provider as PersonProvider

from hub.demo.textops import as_text, join, take, zfill

AREA_CODE = "110105"
AREA_PREFIX = "北京市朝阳区"
RESIDENTS_PER_COMMUNITY = 2000
CIVIL_AFFAIRS_SCHEME = "civil_affairs_community"
HR_SCHEME = "hr_service_area"

# Where residents born outside the district were born: real county codes, common in Beijing.
OTHER_AREA_CODES = np.array([
    110101, 110102, 110106, 110108, 110111, 120101, 130102, 130203, 130602, 140105, 210102,
    230103, 320102, 330106, 340104, 370102, 372901, 410105, 411302, 420106, 430104, 440106,
    510107, 610113, 150102, 220102, 360102, 500103,
], dtype=np.int64)


def _gb2312(text: str) -> bool:
    # The civil-affairs extract is GBK; keep every pooled character encodable there.
    try:
        text.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class NamePools:
    surnames: pa.Array
    surname_p: np.ndarray
    given_male: pa.Array  # whole given names (one or two characters)
    given_female: pa.Array
    chars_male: pa.Array  # single characters, for two-character names not in the lists
    chars_female: pa.Array
    roads: pa.Array


@cache
def name_pools() -> NamePools:
    surname_weights = {k: v for k, v in PersonProvider.last_names.items() if _gb2312(k)}
    weights = np.array(list(surname_weights.values()), dtype=np.float64)
    male = [n for n in PersonProvider.first_names_male if _gb2312(n)]
    female = [n for n in PersonProvider.first_names_female if _gb2312(n)]
    places = sorted({c.removesuffix("市").removesuffix("县") for c in AddressProvider.cities}
                    | set(AddressProvider.districts))
    roads = [p + s for p in places for s in ("路", "街", "大街", "北路", "南路") if _gb2312(p)]
    return NamePools(
        surnames=pa.array(list(surname_weights)),
        surname_p=weights / weights.sum(),
        given_male=pa.array(male),
        given_female=pa.array(female),
        chars_male=pa.array(sorted({c for n in male for c in n})),
        chars_female=pa.array(sorted({c for n in female for c in n})),
        roads=pa.array(roads),
    )


@dataclass(frozen=True)
class District:
    area_code: str
    community_street: np.ndarray  # street index of each community
    community_codes: pa.Array  # 12-digit standard community codes
    community_mz: pa.Array  # civil affairs' own community codes
    community_roads: np.ndarray  # (communities, 3) indexes into NamePools.roads
    grid_community: np.ndarray  # community index of each grid cell
    grid_codes: pa.Array  # 15-digit standard grid codes
    grid_rs: pa.Array  # human resources' service-area codes, one per grid cell

    @property
    def communities(self) -> int:
        return len(self.community_street)

    @property
    def grids(self) -> int:
        return len(self.grid_community)


def build_district(residents: int, rng: np.random.Generator) -> District:
    n_comm = max(2, round(residents / RESIDENTS_PER_COMMUNITY))
    n_streets = min(n_comm, max(2, math.ceil(n_comm / 12)))
    street = np.arange(n_comm) * n_streets // n_comm
    first_of_street = np.searchsorted(street, np.arange(n_streets))
    comm_no = np.arange(n_comm) - first_of_street[street] + 1
    area = int(AREA_CODE)
    community_code = (area * 1000 + street + 1) * 1000 + comm_no
    # Civil affairs numbered its streets in another order, then communities within each.
    mz_street = rng.permutation(n_streets) + 11
    community_mz = join("MZ", zfill(mz_street[street], 2), zfill(comm_no, 3))

    grids_per_comm = rng.integers(3, 7, size=n_comm)
    grid_community = np.repeat(np.arange(n_comm), grids_per_comm)
    first_grid = np.concatenate([[0], np.cumsum(grids_per_comm)[:-1]])
    grid_no = np.arange(len(grid_community)) - first_grid[grid_community] + 1
    grid_code = community_code[grid_community] * 1000 + grid_no
    # HR service areas are numbered per street, in an order of their own.
    grid_street = street[grid_community]
    rs_no = np.empty(len(grid_community), dtype=np.int64)
    for s in range(n_streets):  # a loop over streets (tens), not residents
        members = np.flatnonzero(grid_street == s)
        rs_no[members] = rng.permutation(len(members)) + 101
    grid_rs = join("RS-", zfill(grid_street + 1, 2), "-", zfill(rs_no, 4))

    n_roads = len(name_pools().roads)
    return District(
        area_code=AREA_CODE,
        community_street=street,
        community_codes=zfill(community_code, 12),
        community_mz=community_mz,
        community_roads=rng.integers(0, n_roads, size=(n_comm, 3)),
        grid_community=grid_community,
        grid_codes=zfill(grid_code, 15),
        grid_rs=grid_rs,
    )


def addresses(district: District, community: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """One exact address per household: road, number, building, unit, room."""
    n = len(community)
    road = district.community_roads[community, rng.integers(0, 3, size=n)]
    number = rng.integers(1, 300, size=n)
    building = rng.integers(1, 30, size=n)
    unit = rng.integers(1, 7, size=n)
    room = rng.integers(1, 25, size=n) * 100 + rng.integers(1, 5, size=n)
    return join(AREA_PREFIX, take(name_pools().roads, road), as_text(number), "号",
                as_text(building), "号楼", as_text(unit), "单元", as_text(room), "室")
