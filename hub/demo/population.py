"""The synthetic residents of the demo district, built with vectorised numpy.

Households of 1-5 people follow a few templates (couples, families with children, three
generations, grandparents raising left-behind grandchildren, elderly living alone) so that ages,
relations and special groups hang together. Resident IDs follow GB 11643: area code, real
birth date, a 3-digit sequence whose parity is the gender, and the MOD 11-2 check character.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hub.demo.district import (
    OTHER_AREA_CODES,
    District,
    addresses,
    build_district,
    name_pools,
)
from hub.demo.textops import as_text, date_parts, digit_matrix, join, take, where, zfill

CHECK_CHARS = "10X98765432"
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)

HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, SIBLING, OTHER = range(7)
RELATION_LABELS = ("户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他")
# Contract token -> the grid centre's label, in the order the registry lists them.
GROUP_LABELS = {
    "subsistence_allowance": "低保",
    "extreme_poverty": "特困",
    "disabled": "残疾",
    "elderly_living_alone": "独居老人",
    "veteran": "退役军人",
    "left_behind_child": "留守儿童",
}
MOBILE_PREFIXES = np.array(
    [*range(130, 140), 145, 147, 150, 151, 152, 153, 155, 156, 157, 158, 159, 166, 173, 175,
     176, 177, 178, *range(180, 190), 191, 198, 199], dtype=np.int64)
SIZE_P = np.array([0.25, 0.31, 0.22, 0.14, 0.08])


@dataclass(frozen=True)
class Template:
    roles: tuple[int, ...]
    weight: float  # within templates of the same size
    head_lo: int
    head_hi: int
    adult_child: bool = False  # the child is an adult with children of their own here
    left_behind: bool = False  # grandparents raising grandchildren whose parents work away


H, S, C, P, G, B, OT = HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, SIBLING, OTHER
TEMPLATES = (
    Template((H,), 0.42, 22, 45), Template((H,), 0.22, 45, 65), Template((H,), 0.36, 65, 98),
    Template((H, S), 0.22, 23, 40), Template((H, S), 0.25, 40, 65), Template((H, S), 0.33, 65, 97),
    Template((H, C), 0.10, 35, 62), Template((H, P), 0.07, 30, 62), Template((H, B), 0.03, 20, 70),
    Template((H, S, C), 0.62, 25, 55), Template((H, S, P), 0.12, 30, 60),
    Template((H, S, G), 0.10, 55, 75, left_behind=True),
    Template((H, C, G), 0.08, 55, 88, adult_child=True), Template((H, S, OT), 0.08, 25, 60),
    Template((H, S, C, C), 0.50, 28, 55), Template((H, S, C, P), 0.25, 30, 60),
    Template((H, S, G, G), 0.07, 55, 75, left_behind=True),
    Template((H, S, C, G), 0.18, 50, 78, adult_child=True),
    Template((H, S, C, P, P), 0.35, 30, 55), Template((H, S, C, C, P), 0.25, 30, 58),
    Template((H, S, C, OT, G), 0.25, 50, 78, adult_child=True),
    Template((H, S, C, G, G), 0.15, 50, 78, adult_child=True),
)


@dataclass
class Population:
    today: np.datetime64
    district: District
    resident_id: pa.Array  # 18-character GB 11643 numbers, unique
    id_area: np.ndarray  # int64 area code (first 6 digits)
    id_seq: np.ndarray  # int64 sequence (digits 15-17)
    name: pa.Array
    male: np.ndarray
    birth: np.ndarray  # datetime64[D]
    age: np.ndarray  # whole years on `today`
    phone: pa.Array  # nullable: children and some elderly have none
    household: np.ndarray  # household index of each resident
    relation: np.ndarray  # HEAD .. OTHER
    household_ids: pa.Array  # per household
    household_size: np.ndarray  # per household
    household_grid: np.ndarray  # per household: index into district.grid_codes
    address: pa.Array  # per household
    groups: dict[str, np.ndarray]  # contract token -> bool per resident
    death: np.ndarray  # datetime64[D], NaT when alive

    @property
    def size(self) -> int:
        return len(self.male)

    @property
    def households(self) -> int:
        return len(self.household_size)

    @property
    def grid(self) -> np.ndarray:
        return self.household_grid[self.household]

    @property
    def community(self) -> np.ndarray:
        return self.district.grid_community[self.grid]


def _weighted(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    # The weighted digit sum of each distinct value once, then indexed: far fewer divisions.
    uniq, inverse = np.unique(values, return_inverse=True)
    return (digit_matrix(uniq, len(weights)).astype(np.int64) @ weights)[inverse]


def check_index(area: np.ndarray, birth_ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Index into CHECK_CHARS of the MOD 11-2 check character of area + birth date + seq."""
    seq_table = digit_matrix(np.arange(1000), 3).astype(np.int64) @ ID_WEIGHTS[14:]
    return (_weighted(area, ID_WEIGHTS[:6]) + _weighted(birth_ymd, ID_WEIGHTS[6:14])
            + seq_table[seq]) % 11


def id_strings(id17: np.ndarray, check: np.ndarray) -> pa.Array:
    return join(as_text(id17), take(pa.array(list(CHECK_CHARS)), check))


def ymd(days: np.ndarray) -> np.ndarray:
    """YYYYMMDD ints of datetime64[D] values."""
    y, m, d = date_parts(days)
    return y.astype(np.int64) * 10000 + m * 100 + d


def age_on(birth: np.ndarray, when: np.datetime64) -> np.ndarray:
    """Whole years of age on `when`."""
    return (int(ymd(np.array([when], dtype="datetime64[D]"))[0]) - ymd(birth)) // 10000


def _households(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Household sizes summing to exactly n, and a template index per household."""
    sizes = rng.choice(np.arange(1, 6), size=n, p=SIZE_P)  # n draws always suffice
    ends = np.cumsum(sizes)
    h = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:h].copy()
    sizes[-1] -= int(ends[h - 1] - n)
    template = np.empty(h, dtype=np.int64)
    for size in range(1, 6):  # a loop over five sizes, not households
        ids = np.flatnonzero([len(t.roles) == size for t in TEMPLATES])
        w = np.array([TEMPLATES[i].weight for i in ids])
        members = np.flatnonzero(sizes == size)
        template[members] = rng.choice(ids, size=len(members), p=w / w.sum())
    return sizes, template


def _ages(template: np.ndarray, hh: np.ndarray, role: np.ndarray,
          rng: np.random.Generator) -> np.ndarray:
    n, h = len(hh), len(template)
    lo = np.array([t.head_lo for t in TEMPLATES])[template]
    hi = np.array([t.head_hi for t in TEMPLATES])[template]
    # Old heads thin out with age: fewer 95-year-olds than 70-year-olds.
    u = rng.random(h)
    head = lo + np.floor((hi - lo + 1) * np.where(lo >= 65, u ** 2.0, u)).astype(np.int64)
    adult_child = np.maximum(head - rng.integers(22, 35, size=h), 18)
    adult_tpl = np.array([t.adult_child for t in TEMPLATES])[template]
    left_tpl = np.array([t.left_behind for t in TEMPLATES])[template]
    hd, ac = head[hh], adult_child[hh]
    young_child = np.floor(rng.random(n) * (np.minimum(np.maximum(hd - 22, 0), 30) + 1))
    grandchild = np.where(left_tpl[hh], rng.integers(2, 16, size=n),
                          np.maximum(ac - rng.integers(22, 33, size=n), 0))
    spouse = np.maximum(hd + np.round(rng.normal(-1.5, 3.0, size=n)), 20)
    parent = np.minimum(hd + rng.integers(22, 35, size=n), 104)
    sibling = np.maximum(hd + rng.integers(-8, 9, size=n), 16)
    # "Other": a child's spouse in three-generation homes, else a lodger or relative.
    other = np.where(adult_tpl[hh], ac + rng.integers(-3, 4, size=n), rng.integers(18, 71, size=n))
    return np.select(
        [role == HEAD, role == SPOUSE, role == CHILD, role == PARENT, role == GRANDCHILD,
         role == SIBLING],
        [hd, spouse, np.where(adult_tpl[hh], ac, young_child), parent, grandchild, sibling],
        default=other,
    ).astype(np.int64)


def _names(male: np.ndarray, hh_head: np.ndarray, role: np.ndarray,
           rng: np.random.Generator) -> pa.Array:
    pools, n = name_pools(), len(male)
    surname = rng.choice(len(pools.surnames), size=n, p=pools.surname_p)
    # Children, grandchildren and siblings carry the head's surname.
    inherits = np.isin(role, [CHILD, GRANDCHILD, SIBLING])
    surname = np.where(inherits, surname[hh_head], surname)
    listed = where(male, take(pools.given_male, rng.integers(0, len(pools.given_male), n)),
                   take(pools.given_female, rng.integers(0, len(pools.given_female), n)))
    cm, cf = len(pools.chars_male), len(pools.chars_female)
    pair = where(male,
                 join(take(pools.chars_male, rng.integers(0, cm, n)),
                      take(pools.chars_male, rng.integers(0, cm, n))),
                 join(take(pools.chars_female, rng.integers(0, cf, n)),
                      take(pools.chars_female, rng.integers(0, cf, n))))
    return join(take(pools.surnames, surname), where(rng.random(n) < 0.6, listed, pair))


def _unique_seq(area: np.ndarray, birth: np.ndarray, male: np.ndarray,
                rng: np.random.Generator, part: int = 0, parts: int = 1) -> np.ndarray:
    """Sequence numbers (parity = gender) making area + birth date + sequence unique.

    People sharing area, birth date and gender are ranked; each group walks the 500 numbers
    of its parity from a random start with a step coprime to 500, so no two collide. A city
    generated in `parts` keeps part `part` to the numbers congruent to it, so that no two
    parts collide either."""
    n = len(area)
    slots = len(range(part, 500, parts))
    key = (area * 100_000 + birth + 50_000) * 2 + male  # birth: day numbers, > -50000
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    new_group = np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])
    group = np.cumsum(new_group) - 1
    rank = np.arange(n) - np.flatnonzero(new_group)[group]
    if n and rank.max() >= slots:
        raise ValueError(f"more than {slots} residents share an area, birth date and gender")
    steps = np.array([s for s in (1, 3, 7, 9, 11, 13, 17, 19, 21, 23) if math.gcd(s, slots) == 1])
    g = int(group[-1]) + 1 if n else 0
    start, step = rng.integers(0, slots, g), steps[rng.integers(0, len(steps), g)]
    k = np.empty(n, dtype=np.int64)
    k[order] = part + parts * ((start[group] + rank * step[group]) % slots)
    return 2 * k + male


def _phones(age: np.ndarray, rng: np.random.Generator) -> pa.Array:
    n = len(age)
    u = rng.random(n)
    old = age >= 70
    mobile = (age >= 14) & (u < np.where(old, 0.72, 0.93))
    landline = (age >= 14) & ~mobile & (u < np.where(old, 0.94, 0.98))
    number = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)] * 10**8 \
        + rng.integers(0, 10**8, n)
    local = np.array([5, 6, 8])[rng.integers(0, 3, n)] * 10**7 + rng.integers(0, 10**7, n)
    return where(mobile, zfill(number, 11), where(landline, join("010-", zfill(local, 8)), None))


def build_population(residents: int, seed: int, today: np.datetime64, *,
                     district: District | None = None, part: int = 0, parts: int = 1,
                     first_household: int = 0) -> Population:
    """A district's residents; or, for a city generated in `parts`, the residents of part
    `part` in the city's `district`, their households numbered from `first_household`."""
    if district is None:
        rng = np.random.default_rng([seed, 1])
        district = build_district(residents, rng)
    else:
        rng = np.random.default_rng([seed, 1, part])
    sizes, template = _households(residents, rng)
    h = len(sizes)
    hh = np.repeat(np.arange(h), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(residents) - starts[hh]
    roles_matrix = np.full((len(TEMPLATES), 5), -1, dtype=np.int64)
    for i, t in enumerate(TEMPLATES):
        roles_matrix[i, : len(t.roles)] = t.roles
    role = roles_matrix[template[hh], pos]

    age0 = _ages(template, hh, role, rng)
    birth = today - np.round((age0 + rng.random(residents)) * 365.2425).astype("timedelta64[D]")
    age = age_on(birth, today)
    elderly_single = (sizes[hh] == 1) & (age >= 65)
    head_male = rng.random(h) < 0.6
    male = np.where(role == HEAD, np.where(elderly_single, rng.random(residents) < 0.35,
                                           head_male[hh]),
                    np.where(role == SPOUSE, ~head_male[hh], rng.random(residents) < 0.5))

    local = rng.random(residents) < 0.62
    area = np.where(local, int(district.area_code),
                    OTHER_AREA_CODES[rng.integers(0, len(OTHER_AREA_CODES), residents)])
    birth_ymd = ymd(birth)
    seq = _unique_seq(area, birth.view(np.int64), male.astype(np.int64), rng, part, parts)
    id17 = (area * 100_000_000 + birth_ymd) * 1000 + seq

    community = rng.integers(0, district.communities, h)
    first_grid = np.searchsorted(district.grid_community, np.arange(district.communities))
    grids_in = np.bincount(district.grid_community, minlength=district.communities)
    household_grid = first_grid[community] + np.floor(
        rng.random(h) * grids_in[community]).astype(np.int64)
    serial = first_household + np.arange(h) + 1
    household_ids = join("H", take(district.community_codes, community), zfill(serial, 6))

    groups = _groups(age, male, hh, role, sizes, template, rng)
    died = rng.random(residents) < np.select([age >= 80, age >= 60], [0.05, 0.01], 0.0005)
    death = np.where(died, today - rng.integers(5, 365, residents).astype("timedelta64[D]"),
                     np.datetime64("NaT")).astype("datetime64[D]")
    death[died & (death < birth)] = np.datetime64("NaT")

    return Population(
        today=today, district=district,
        resident_id=id_strings(id17, check_index(area, birth_ymd, seq)), id_area=area, id_seq=seq,
        name=_names(male, starts[hh], role, rng), male=male, birth=birth, age=age,
        phone=_phones(age, rng), household=hh, relation=role, household_ids=household_ids,
        household_size=sizes, household_grid=household_grid,
        address=addresses(district, community, rng), groups=groups, death=death,
    )


def _groups(age: np.ndarray, male: np.ndarray, hh: np.ndarray, role: np.ndarray,
            sizes: np.ndarray, template: np.ndarray,
            rng: np.random.Generator) -> dict[str, np.ndarray]:
    n, h = len(age), len(sizes)
    alone_old = (sizes[hh] == 1) & (age >= 60)
    subsistence = (rng.random(h) < 0.015)[hh]
    extreme = alone_old & ~subsistence & (rng.random(n) < 0.04)
    disabled = rng.random(n) < np.select([age >= 80, age >= 60], [0.15, 0.08], 0.025)
    veteran = (age >= 30) & (rng.random(n) < np.where(male, 0.03, 0.003))
    left_tpl = np.array([t.left_behind for t in TEMPLATES])[template][hh]
    left_behind = left_tpl & (role == GRANDCHILD) & (age < 16) & (rng.random(n) < 0.85)
    return {
        "subsistence_allowance": subsistence,
        "extreme_poverty": extreme,
        "disabled": disabled,
        # Registered by the grid workers: most, not all, of those who live alone.
        "elderly_living_alone": alone_old & (rng.random(n) < 0.9),
        "veteran": veteran,
        "left_behind_child": left_behind,
    }
