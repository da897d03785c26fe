"""The synthetic residents: valid, unique IDs that agree with birth date and gender, and
households that hang together."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
from demo_kit import TODAY, valid_id

from hub.demo.population import HEAD, Population


def test_every_resident_id_is_valid_gb11643_and_unique(population: Population) -> None:
    ids = population.resident_id.to_pylist()
    assert len(ids) == population.size
    assert all(valid_id(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert any(i.endswith("X") for i in ids)  # the check character X occurs


def test_id_encodes_the_residents_birth_date_and_gender(population: Population) -> None:
    ids = population.resident_id.to_pylist()
    births = population.birth.astype("datetime64[D]").astype(str)
    for rid, birth, male in zip(ids, births, population.male, strict=True):
        assert rid[6:14] == birth.replace("-", "")
        assert int(rid[16]) % 2 == int(male)


def test_each_household_has_exactly_one_head(population: Population) -> None:
    heads = Counter(population.household[population.relation == HEAD].tolist())
    assert len(heads) == population.households
    assert set(heads.values()) == {1}
    sizes = np.bincount(population.household)
    assert sizes.min() >= 1
    assert sizes.max() <= 5


def test_ages_span_children_to_the_very_old(population: Population) -> None:
    age = population.age
    assert (age < 14).mean() > 0.08
    assert 0.02 < (age >= 80).mean() < 0.10
    assert age.max() <= 105
    assert (population.birth <= np.datetime64(TODAY.isoformat())).all()


def test_special_groups_and_deaths_occur_at_plausible_rates(population: Population) -> None:
    g = population.groups
    for name, (low, high) in {"subsistence_allowance": (0.003, 0.04), "disabled": (0.02, 0.08),
                              "elderly_living_alone": (0.01, 0.08), "veteran": (0.003, 0.03),
                              "left_behind_child": (0.002, 0.04)}.items():
        assert low < g[name].mean() < high, name
    assert g["extreme_poverty"].any()
    # Living alone and left behind mean what they say.
    size = population.household_size[population.household]
    assert (size[g["elderly_living_alone"]] == 1).all()
    assert (population.age[g["elderly_living_alone"]] >= 60).all()
    assert (population.age[g["left_behind_child"]] < 16).all()
    died = ~np.isnat(population.death)
    assert 0 < died.sum() < 0.03 * population.size
    assert (population.death[died] < np.datetime64(date(2026, 11, 20).isoformat())).all()


def test_grid_codes_nest_in_the_standard_hierarchy(population: Population) -> None:
    d = population.district
    grids = d.grid_codes.to_pylist()
    communities = d.community_codes.to_pylist()
    assert all(len(g) == 15 and g.isdigit() and g.startswith("110105") for g in grids)
    assert {g[:12] for g in grids} == set(communities)
    assert len(set(grids)) == len(grids)
