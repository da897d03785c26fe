"""Train the linkage model without labels and score department records against the registry.

Fellegi-Sunter through Splink on DuckDB: u-probabilities from random pairs of registry
records, m-probabilities by expectation maximisation over blocks that each hold some fields
fixed, then every blocked pair scored. The answer is, per department record, its best
registry candidate, that candidate's probability and the margin over the runner-up: a record
that fits two residents almost equally well is not linked automatically, whatever its score.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator

from hub.linkage.comparisons import blocking_rules, comparisons, training_blocks
from hub.linkage.features import FEATURE_COLUMNS

# Splink reports every training step at INFO; the pipeline's own progress says enough.
logging.getLogger("splink").setLevel(logging.WARNING)

COMPARED = ("name", "birth", "sex", "address", "phone", "place")


@dataclass(frozen=True)
class LinkageRun:
    """Scored candidates: one row per department record that met any registry record."""

    best: pd.DataFrame
    """candidate_id, registry_id, probability, runner_up (probability of the second best),
    gamma_<field> (the level each field agreed at: -1 missing, 0 none, higher is closer) and
    mw_<field> (the match weight that level carried)."""
    pairs_scored: int


def _settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        comparisons=list[ComparisonCreator | dict[str, Any]](comparisons()),
        blocking_rules_to_generate_predictions=list[BlockingRuleCreator | dict[str, Any]](
            blocking_rules()),
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


def link_to_registry(registry: pd.DataFrame, candidates: pd.DataFrame, *,
                     seed: int = 1, max_u_pairs: float = 2e6) -> LinkageRun:
    """Score every candidate record (`person_features` frames) against the registry."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        db = DuckDBAPI(connection=con)
        left = db.register(registry.loc[:, list(FEATURE_COLUMNS)], table_name="registry")
        right = db.register(candidates.loc[:, list(FEATURE_COLUMNS)], table_name="candidates")
        linker = Linker([left, right], _settings())
        training = linker.training
        training.estimate_probability_two_random_records_match(
            [block_on("name_simplified", "birth_digits")], recall=0.7)
        training.estimate_u_using_random_sampling(max_pairs=max_u_pairs, seed=seed)
        for block in training_blocks():
            training.estimate_parameters_using_expectation_maximisation(block)
        scored = linker.inference.predict(threshold_match_probability=0.001).as_pandas_dataframe()
    finally:
        con.close()
    return LinkageRun(best=best_per_candidate(scored), pairs_scored=len(scored))


def best_per_candidate(scored: pd.DataFrame) -> pd.DataFrame:
    """Each candidate's best registry match, with the runner-up's probability beside it."""
    gammas = [f"gamma_{field}" for field in COMPARED]
    weights = [f"mw_{field}" for field in COMPARED]
    columns = ["candidate_id", "registry_id", "probability", "runner_up", *gammas, *weights]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    # Splink orders the two sides of a pair by dataset name, not by registration order.
    registry_left = scored["source_dataset_l"] == "registry"
    frame = pd.DataFrame({
        "registry_id": scored["unique_id_l"].where(registry_left, scored["unique_id_r"]),
        "candidate_id": scored["unique_id_r"].where(registry_left, scored["unique_id_l"]),
        "probability": scored["match_probability"],
        **{column: scored[column] for column in gammas + weights},
    })
    frame = frame.sort_values(["candidate_id", "probability"], ascending=[True, False])
    ranked = frame.groupby("candidate_id", sort=False)
    best = ranked.head(1).set_index("candidate_id")
    second = ranked.nth(1).set_index("candidate_id")["probability"]
    best["runner_up"] = second.reindex(best.index).fillna(0.0)
    return best.reset_index().loc[:, columns]
