"""The linkage model, trained without labels, finds the resident behind records with planted
typing errors and links nobody it should not."""

from __future__ import annotations

import pandas as pd
import pytest

from hub.demo.linkage_truth import Planted, plant, registry_frame
from hub.linkage.decisions import Decision, decide
from hub.linkage.features import person_features
from hub.linkage.model import best_per_candidate, link, registry_duplicates
from hub.linkage.spec import load_spec


@pytest.fixture(scope="module")
def planted() -> Planted:
    registry = registry_frame(3_000, seed=11)
    outsiders = registry_frame(200, seed=99).sample(40, random_state=1)
    return plant(registry, count=360, seed=5, outsiders=outsiders)


@pytest.fixture(scope="module")
def scored(planted: Planted) -> pd.DataFrame:
    run = link(load_spec("registry"), person_features(planted.registry),
                           person_features(planted.candidates.drop(columns="truth")))
    truth = planted.candidates.set_index("unique_id")["truth"]
    kinds = pd.Series(planted.kinds, index=planted.candidates["unique_id"])
    best = run.best.set_index("candidate_id").reindex(truth.index)
    best["truth"], best["kind"] = truth, kinds
    return best


def test_planted_errors_are_linked_to_the_right_resident(scored: pd.DataFrame) -> None:
    linked = scored[scored["probability"] >= 0.9]
    correct = (linked["registry_id"] == linked["truth"]).sum()
    precision = correct / len(linked)
    recall = correct / scored["truth"].notna().sum()
    assert precision >= 0.98, precision
    assert recall >= 0.9, (recall, scored[scored["probability"].fillna(0) < 0.9]["kind"]
                           .value_counts().to_dict())


@pytest.mark.parametrize("kind", ["homophone", "similar_shape", "traditional",
                                  "dropped_or_added", "month_day_swapped", "one_digit_wrong",
                                  "lunar_slip", "address_rewritten"])
def test_each_error_kind_is_recovered(scored: pd.DataFrame, kind: str) -> None:
    of_kind = scored[scored["kind"] == kind]
    right = (of_kind["registry_id"] == of_kind["truth"]).mean()
    assert right >= 0.85, (kind, right)


def test_outsiders_are_not_linked(scored: pd.DataFrame) -> None:
    outsiders = scored[scored["kind"] == "outsider"]
    assert (outsiders["probability"].fillna(0) >= 0.9).mean() <= 0.05


def test_registry_duplicates_are_found_not_merged() -> None:
    registry = registry_frame(3_000, seed=13)
    copies = plant(registry, count=27, seed=8, outsiders=registry.iloc[:0]).candidates
    copies["household_key"] = [f"moved-{i}" for i in range(len(copies))]  # registered anew
    # The same people registered a second time, under other ID numbers, with typing errors.
    doubled = pd.concat([registry, copies.drop(columns="truth")], ignore_index=True)
    pairs = registry_duplicates(load_spec("registry_duplicates"), person_features(doubled))
    found = {frozenset(p) for p in zip(pairs["left_id"], pairs["right_id"], strict=True)}
    planted = {frozenset(p) for p in zip(copies["unique_id"], copies["truth"], strict=True)}
    assert len(found & planted) >= 0.85 * len(planted)
    assert len(found - planted) <= 0.1 * len(found)


def _pairs(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Scored pairs as Splink gives them: (candidate, resident, match weight in bits)."""
    weights = pd.Series([w for _, _, w in rows], dtype=float)
    return pd.DataFrame({
        "source_dataset_l": "candidates", "source_dataset_r": "registry",
        "unique_id_l": [c for c, _, _ in rows], "unique_id_r": [r for _, r, _ in rows],
        "match_weight": weights, "match_probability": 1 / (1 + 2.0 ** -weights)})


def test_the_runner_up_counts_given_that_a_record_is_one_persons() -> None:
    best = best_per_candidate(_pairs([
        # Name, birth date, sex and address agree with the parent (25 bits); the child of
        # the same household shares sex, surname and address only (0.9 on its own).
        ("c-parent", "r-parent", 25.0), ("c-parent", "r-child", 3.2),
        # Two residents fit the record equally: a person must choose.
        ("c-twins", "r-one", 20.0), ("c-twins", "r-two", 20.0),
        ("c-alone", "r-only", 12.0),
    ]), ()).set_index("candidate_id")
    assert best.loc["c-parent", "registry_id"] == "r-parent"
    assert best.loc["c-parent", "runner_up"] < 1e-6
    assert best.loc["c-twins", "runner_up"] == pytest.approx(0.5, abs=1e-5)
    assert best.loc["c-alone", "runner_up"] == 0.0
    assert decide(best).to_dict() == {"c-parent": Decision.LINKED, "c-twins": Decision.REVIEW,
                                      "c-alone": Decision.LINKED}
