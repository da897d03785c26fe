"""The demo district's place names: a reference table of street, community and grid names.

Real districts have such a table from the civil-affairs register of communities; the demo
names each community after one of its roads (朝阳北路社区), each street after its first
community's road (朝阳北路街道) and each grid cell after its community and number. The hub
shows a code by name wherever this table has it (hub.api.places).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from hub.demo.district import District, name_pools
from hub.demo.writers import write_csv

PLACES_NAME = "places.csv"  # beside the crosswalk in the demo folder


def write_places(district: District, out_dir: Path) -> Path:
    roads = name_pools().roads.to_pylist()
    communities = district.community_codes.to_pylist()
    community_names = [f"{roads[district.community_roads[c, 0]]}社区"
                       for c in range(district.communities)]
    streets: dict[str, str] = {}
    for c, code in enumerate(communities):
        streets.setdefault(code[:9], f"{roads[district.community_roads[c, 0]]}街道")
    grids = district.grid_codes.to_pylist()
    grid_names = [f"{community_names[district.grid_community[g]]}第{int(code[-3:])}网格"
                  for g, code in enumerate(grids)]
    table = pa.table({
        "code": [*streets, *communities, *grids],
        "level": ["street"] * len(streets) + ["community"] * len(communities)
        + ["grid"] * len(grids),
        "name": [*streets.values(), *community_names, *grid_names]})
    path = out_dir / PLACES_NAME
    write_csv(table, path, "utf-8")
    return path
