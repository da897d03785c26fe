"""Train a linkage model without labels and score records against the registry.

Fellegi-Sunter through Splink on DuckDB: the share of true matches from rules that nearly
only true matches pass, u-probabilities from random pairs, m-probabilities by expectation
maximisation over blocks that each hold some fields fixed, then every blocked pair scored.
The answer is, per record to place, its best registry candidate, that candidate's
probability and the runner-up's: a record that fits two residents almost equally well is
not linked automatically, whatever its score.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.dialects import SplinkDialect
from splink.internals.estimate_u import _rows_needed_for_n_pairs
from splink.internals.input_column import InputColumn

from hub.linkage.comparisons import comparisons, rules
from hub.linkage.spec import LinkageSpec

# EM learns m-probabilities from the pairs of the records to place; a batch with fewer such
# records leaves levels unobserved (EM fails on an m of zero), so it scores with the
# spec's prior m-probabilities and learns only u and the prior match share.
EM_MIN_RECORDS = 500

# Splink reports every training step, and levels it could not train, on its logger; the
# pipeline's own counts say what a clerk or an operator needs (and B11 the training).
SPLINK_LOG = logging.ERROR
logging.getLogger("splink").setLevel(SPLINK_LOG)


@dataclass(frozen=True)
class LinkageRun:
    """Scored candidates: one row per record to place that met any registry record."""

    best: pd.DataFrame
    """candidate_id, registry_id, probability, runner_up (probability of the second best),
    gamma_<field> (the level each field agreed at: -1 missing, 0 none, higher is closer) and
    mw_<field> (the match weight that level carried)."""
    pairs_scored: int
    fields: tuple[str, ...]


def _settings(spec: LinkageSpec, unique_id: str, link_type: str = "link_only") -> SettingsCreator:
    return SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        unique_id_column_name=unique_id,
        comparisons=list[ComparisonCreator | dict[str, Any]](comparisons(spec)),
        blocking_rules_to_generate_predictions=rules(spec.blocking),
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


def link(spec: LinkageSpec, registry: pd.DataFrame, candidates: pd.DataFrame, *,
         unique_id: str = "unique_id", seed: int = 1, max_u_pairs: float = 2e6,
         threshold: float = 0.001) -> LinkageRun:
    """Train on the two frames without labels, then score every blocked pair.

    `registry` holds the records linked to, `candidates` the records to place; both carry
    the columns that the spec's fields and rules read.
    """
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        db = DuckDBAPI(connection=con)
        left = db.register(registry, table_name="registry")
        right = db.register(candidates, table_name="candidates")
        linker = Linker([left, right], _settings(spec, unique_id), log_level=SPLINK_LOG)
        train(linker, spec, seed, max_u_pairs, em=len(candidates) >= EM_MIN_RECORDS,
              fallback_prior=1 / max(len(registry), 2))
        scored = linker.inference.predict(
            threshold_match_probability=threshold).as_pandas_dataframe()
    finally:
        con.close()
    fields = tuple(f.name for f in spec.fields)
    return LinkageRun(best=best_per_candidate(scored, fields, unique_id),
                      pairs_scored=len(scored), fields=fields)


def link_with_priors(spec: LinkageSpec, registry: pd.DataFrame, candidates: pd.DataFrame, *,
                     unique_id: str = "unique_id", seed: int = 1, max_u_pairs: float = 2e6,
                     threshold: float = 0.001) -> LinkageRun:
    """Score every blocked pair with a model that depends on the registry alone: the spec's
    prior m-probabilities, u from random pairs of registry records, and one true match per
    record among its pairs. A row scores the same in whichever batch it arrives, alone or
    with others, so a decision made once stands when the row is sent again."""
    model = prior_model(spec, registry, len(registry), unique_id=unique_id, seed=seed,
                        max_u_pairs=max_u_pairs)
    return score_with_model(spec, model, registry, candidates, unique_id=unique_id,
                            threshold=threshold)


def u_sample_condition(registry_size: int, *, seed: int = 1, max_u_pairs: float = 2e6,
                       unique_id: str = "unique_id") -> str:
    """The SQL condition (" AND ...", or "" for all) over `unique_id` that picks the records
    Splink's random sampling picks for u from a registry of `registry_size` records: a pure
    function of each record's id, so a sample drawn with it in the warehouse and trained on
    whole gives the very u-probabilities of training on the whole registry."""
    proportion = min(1.0, _rows_needed_for_n_pairs(max_u_pairs) / max(registry_size, 1))
    dialect = SplinkDialect.from_string("duckdb")
    return dialect.proportion_sample_sql(
        proportion, [InputColumn(unique_id, sqlglot_dialect_str="duckdb")], seed=seed)


def prior_model(spec: LinkageSpec, sample: pd.DataFrame, registry_size: int, *,
                unique_id: str = "unique_id", seed: int = 1, max_u_pairs: float = 2e6,
                drawn: bool = False) -> dict[str, Any]:
    """The model of `link_with_priors` as Splink's JSON (probabilities only, no record):
    u from random pairs of `sample`, the prior one true match per record of the registry.
    `drawn`: `sample` holds exactly the records of `u_sample_condition`, all trained on."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        db = DuckDBAPI(connection=con)
        left = db.register(sample, table_name="registry")
        dedupe = Linker(left, _settings(spec, unique_id, "dedupe_only"), log_level=SPLINK_LOG)
        # A drawn sample is taken whole: pairs enough that Splink's proportion reaches one.
        pairs = float(len(sample)) ** 2 + 1 if drawn else max_u_pairs
        dedupe.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=seed)
        model: dict[str, Any] = dedupe.misc.save_model_to_json()
    finally:
        con.close()
    model["link_type"] = "link_only"
    model["probability_two_random_records_match"] = 1 / max(registry_size, 2)
    return model


def score_with_model(spec: LinkageSpec, model: dict[str, Any], registry: pd.DataFrame,
                     candidates: pd.DataFrame, *, unique_id: str = "unique_id",
                     threshold: float = 0.001) -> LinkageRun:
    """Score every pair of a registry record and a candidate that a blocking rule lets
    through, with a model made before (prior_model); best per candidate."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        db = DuckDBAPI(connection=con)
        left = db.register(registry, table_name="registry")
        right = db.register(candidates, table_name="candidates")
        linker = Linker([left, right], copy.deepcopy(model), log_level=SPLINK_LOG)
        scored = linker.inference.predict(
            threshold_match_probability=threshold).as_pandas_dataframe()
    finally:
        con.close()
    fields = tuple(f.name for f in spec.fields)
    return LinkageRun(best=best_per_candidate(scored, fields, unique_id),
                      pairs_scored=len(scored), fields=fields)


def train(linker: Linker, spec: LinkageSpec, seed: int = 1, max_u_pairs: float = 2e6,
          em: bool = True, fallback_prior: float = 1e-4) -> None:
    """Train without labels, as the spec says: the prior from its deterministic rules, u from
    random pairs, m by one EM session per training rule (unless `em` is False: the spec's
    prior m-probabilities then stand)."""
    training = linker.training
    training.estimate_probability_two_random_records_match(
        rules(spec.deterministic), recall=spec.recall)
    settings = linker._settings_obj
    if not settings._probability_two_random_records_match > 0:
        # No pair passed the deterministic rules (a handful of records to place, all with
        # errors): Splink would divide by zero. One true match per record among its pairs.
        settings._probability_two_random_records_match = fallback_prior
    training.estimate_u_using_random_sampling(max_pairs=max_u_pairs, seed=seed)
    for block in rules(spec.training) if em else []:
        training.estimate_parameters_using_expectation_maximisation(
            block, estimate_without_term_frequencies=True)


def registry_duplicates(spec: LinkageSpec, registry: pd.DataFrame, *,
                        unique_id: str = "unique_id", seed: int = 1, max_u_pairs: float = 2e6,
                        threshold: float = 0.5) -> pd.DataFrame:
    """Pairs of registry records that are probably one person under two ID numbers.

    Columns: left_id, right_id, probability. They are findings for the registry's owner to
    correct at source; nothing here merges them. Two members of one household are two
    people (the registry lists a person once per household), so such pairs are left out:
    a twin or a grandchild named after a grandparent is not a duplicate.
    """
    model = duplicates_model(spec, registry, len(registry), unique_id=unique_id, seed=seed,
                             max_u_pairs=max_u_pairs)
    return score_duplicates(model, registry, unique_id=unique_id, threshold=threshold)


def duplicates_model(spec: LinkageSpec, sample: pd.DataFrame, registry_size: int, *,
                     deterministic_pairs: int | None = None, unique_id: str = "unique_id",
                     seed: int = 1, max_u_pairs: float = 2e6) -> dict[str, Any]:
    """The duplicate search's model as Splink's JSON, trained without labels on `sample`:
    the whole registry, or records drawn from a registry of `registry_size`. A drawn sample
    holds almost no duplicate pair (both records of a pair must be drawn), so EM cannot
    learn from it: the spec's prior m-probabilities stand, u comes from the sample and the
    prior share of true pairs from `deterministic_pairs`, the registry's pairs that pass
    the spec's deterministic rules (counted on keyed hashes, hub.linkage.blocking)."""
    whole = registry_size <= len(sample)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        db = DuckDBAPI(connection=con)
        table = db.register(sample, table_name="registry")
        linker = Linker(table, _settings(spec, unique_id, "dedupe_only"), log_level=SPLINK_LOG)
        train(linker, spec, seed, max_u_pairs, em=whole and len(sample) >= EM_MIN_RECORDS,
              fallback_prior=1 / max(registry_size, 2) ** 2)
        model: dict[str, Any] = linker.misc.save_model_to_json()
    finally:
        con.close()
    if not whole and deterministic_pairs is not None:
        comparisons = registry_size * (registry_size - 1) / 2
        model["probability_two_random_records_match"] = (
            deterministic_pairs / spec.recall / comparisons if deterministic_pairs
            else 1 / registry_size ** 2)
    return model


def score_duplicates(model: dict[str, Any], registry: pd.DataFrame, *,
                     unique_id: str = "unique_id", threshold: float = 0.5) -> pd.DataFrame:
    """The pairs of `registry` at or above `threshold` under a trained duplicates model
    (left_id, right_id, probability), members of one household left out."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        db = DuckDBAPI(connection=con)
        table = db.register(registry, table_name="registry")
        linker = Linker(table, copy.deepcopy(model), log_level=SPLINK_LOG)
        scored = linker.inference.predict(
            threshold_match_probability=threshold).as_pandas_dataframe()
    finally:
        con.close()
    pairs = pd.DataFrame({"left_id": scored[f"{unique_id}_l"],
                          "right_id": scored[f"{unique_id}_r"],
                          "probability": scored["match_probability"]})
    if "household_key" in registry.columns:
        household = registry.set_index(unique_id)["household_key"]
        same = (household.reindex(pairs["left_id"]).to_numpy()
                == household.reindex(pairs["right_id"]).to_numpy())
        pairs = pairs[~same]
    return pairs.reset_index(drop=True)


def best_per_candidate(scored: pd.DataFrame, fields: tuple[str, ...],
                       unique_id: str = "unique_id") -> pd.DataFrame:
    """Each candidate's best registry match, with the runner-up's probability beside it.

    Each pair's probability is scored on its own; a record belongs to at most one
    resident, so the runner-up's is taken given the others: its odds over one plus the
    odds of every pair of the record. Two residents that fit about equally keep a high
    runner-up (a person decides); a household member who shares the address but not the
    name and birth date no longer shadows a record that fits its resident far better."""
    gammas = [f"gamma_{field}" for field in fields]
    weights = [f"mw_{field}" for field in fields]
    columns = ["candidate_id", "registry_id", "probability", "runner_up", *gammas, *weights]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    # Splink orders the two sides of a pair by dataset name, not by registration order.
    registry_left = scored["source_dataset_l"] == "registry"
    left_id, right_id = scored[f"{unique_id}_l"], scored[f"{unique_id}_r"]
    frame = pd.DataFrame({
        "registry_id": left_id.where(registry_left, right_id),
        "candidate_id": right_id.where(registry_left, left_id),
        "probability": scored["match_probability"],
        "weight": scored["match_weight"].astype(float),  # log2 odds of the pair
        **{column: scored[column] for column in gammas + weights},
    })
    # Ties go to the lower registry id: the same pairs give the same best, in any order.
    frame = frame.sort_values(["candidate_id", "probability", "registry_id"],
                              ascending=[True, False, True], kind="stable")
    ranked = frame.groupby("candidate_id", sort=False)
    # log-sum-exp in base 2, shifted by each record's largest weight so that nothing
    # overflows: share = 2^w / (1 + sum of 2^w over the record's pairs).
    top = ranked["weight"].transform("max").clip(lower=0.0)
    odds = pd.Series(np.exp2((frame["weight"] - top).to_numpy()), index=frame.index)
    frame["share"] = odds / (odds.groupby(frame["candidate_id"]).transform("sum")
                             + np.exp2(-top))
    best = ranked.head(1).set_index("candidate_id")
    second = frame.groupby("candidate_id", sort=False).nth(1).set_index("candidate_id")["share"]
    best["runner_up"] = second.reindex(best.index).fillna(0.0)
    return best.reset_index().loc[:, columns]
