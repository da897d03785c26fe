"""The registry opened only where needed: linking through the keyed blocking index decides
every row as scoring against the whole registry does, the duplicate search finds the same
pairs, and the index follows the registry (a changed resident reopened alone, a new vault
key rebuilding it) without a plaintext value in the warehouse."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from desensitize.errors import VaultDecryptFailed
from desensitize.vault import VaultCipher
from hub.demo.linkage_truth import plant, registry_frame
from hub.keys.config import load_keyring
from hub.linkage.blocking import block_key, keyed_blocks, rules_of
from hub.linkage.decisions import Thresholds, decide
from hub.linkage.features import person_features
from hub.linkage.model import (
    link_with_priors,
    prior_model,
    registry_duplicates,
    score_duplicates,
    score_with_model,
    u_sample_condition,
)
from hub.linkage.spec import load_spec
from hub.linkage.tables import REGISTRY_INPUTS
from hub.pipeline import linkage, registry_index, registry_open
from hub.pipeline import registry_duplicates as duplicates
from hub.pipeline.registry_forms import open_forms, unseal_forms
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from tests.conftest import DemoDistrict
from tests.privacy_scan import Needles, privacy_hits, valid_id

pytestmark = pytest.mark.slow

WHOLE = f"({registry_open.residents_sql()})"


def _keys(settings: HubSettings) -> tuple[VaultCipher, bytes]:
    vault_key = load_keyring(settings).vault_key
    return VaultCipher(vault_key), block_key(vault_key)


def _whole_registry(con: duckdb.DuckDBPyConnection, cipher: VaultCipher) -> pd.DataFrame:
    return person_features(registry_open.open_residents(con, cipher, WHOLE))


def test_linking_through_the_index_decides_as_the_whole_registry(
        district_home: HubSettings) -> None:
    settings = district_home
    cipher, key = _keys(settings)
    with PipelineWorker(settings) as worker:
        assert worker.warehouse is not None
        assert worker.catalog is not None
        con = worker.warehouse.con
        con.execute("DELETE FROM linkage.decisions")  # every sealed row is scored again
        sql = linkage._pending_sql()
        assert sql is not None
        pending = con.execute(sql + " ORDER BY batch_id, source_row").fetch_df()
        candidates = linkage._candidates(con, pending, cipher)
        whole = _whole_registry(con, cipher)
        reference = link_with_priors(load_spec("registry"), whole,
                                     person_features(candidates)).best
        counts = linkage.link_pending(con, worker.catalog.engine, cipher,
                                      Thresholds.of(settings.linkage), key)
        decided = con.execute("SELECT batch_id || ':' || source_row AS candidate_id, "
                              "resident_key, probability, runner_up, decision "
                              "FROM linkage.decisions").fetch_df()
    assert counts["candidates"] == len(pending) >= 15
    # Only the residents sharing a blocking value with a row were opened.
    assert 0 < counts["registry_opened"] < len(whole)
    expected = reference.set_index("candidate_id").reindex(candidates["unique_id"])
    expected[["probability", "runner_up"]] = expected[["probability", "runner_up"]].fillna(0.0)
    expected["decision"] = decide(expected, Thresholds.of(settings.linkage)).to_numpy()
    got = decided.set_index("candidate_id").reindex(expected.index)
    assert (got["decision"] == expected["decision"]).all()
    assert got["probability"].tolist() == pytest.approx(expected["probability"].tolist(),
                                                        rel=1e-12, abs=1e-15)
    assert got["runner_up"].tolist() == pytest.approx(expected["runner_up"].tolist(),
                                                      rel=1e-12, abs=1e-15)
    matched = expected["decision"] != "unlinked"
    assert (got.loc[matched, "resident_key"] == expected.loc[matched, "registry_id"]).all()
    assert matched.sum() >= 10


def test_a_sample_drawn_by_key_and_the_sharing_residents_score_as_the_whole_registry(
) -> None:
    """The same at the model's level, on planted errors over a larger registry: u from the
    records drawn in SQL by key, scoring against the residents that share a keyed value."""
    registry = person_features(registry_frame(6_000, seed=11))
    outsiders = registry_frame(200, seed=99).sample(40, random_state=1)
    planted = plant(registry_frame(6_000, seed=11), count=400, seed=5, outsiders=outsiders)
    candidates = person_features(planted.candidates.drop(columns="truth"))
    spec = load_spec("registry")
    whole = link_with_priors(spec, registry, candidates).best.set_index("candidate_id")
    con = duckdb.connect()
    con.register("registry", registry)
    drawn = con.execute("SELECT unique_id FROM registry WHERE 1=1 "
                        + u_sample_condition(len(registry))).fetch_df()["unique_id"]
    con.close()
    assert 0 < len(drawn) < len(registry)
    model = prior_model(spec, registry[registry["unique_id"].isin(drawn)], len(registry),
                        drawn=True)
    key = block_key(bytes(range(64)))
    theirs = keyed_blocks(candidates, spec.blocking, key)
    ours = keyed_blocks(registry, rules_of(spec, load_spec("registry_duplicates")), key)
    sharing = ours.merge(theirs, on=["rule", "block"])["unique_id_x"].unique()
    assert len(sharing) < len(registry)
    subset = registry[registry["unique_id"].isin(sharing)]
    run = score_with_model(spec, model, subset, candidates)
    part = run.best.set_index("candidate_id").reindex(whole.index)
    assert len(whole) > 300
    assert (part["registry_id"] == whole["registry_id"]).all()
    for column in ("probability", "runner_up"):
        assert part[column].tolist() == pytest.approx(whole[column].tolist(), rel=1e-12)


def _doubled_registry(demo_district: DemoDistrict, tmp_path: Path) -> Path:
    """The district's registry with some residents registered again under another ID."""
    from tests.linkage.test_registry_duplicates_finding import _other_id

    source = Path(demo_district.demo.datasets["grid"].path)
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    people = [r for r in rows if len(r["身份证号"]) == 18 and valid_id(r["身份证号"])
              and r["联系电话"]][:40:4]
    twice = [{**p, "身份证号": _other_id(p["身份证号"]), "户编号": p["户编号"] + "9",
              "与户主关系": "户主"} for p in people]
    extract = tmp_path / "grid.csv"
    with extract.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, *twice])
    return extract


def _pairs(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(str(a), str(b)): float(p) for a, b, p in
            frame[["left_id", "right_id", "probability"]].itertuples(index=False)}


def test_the_duplicate_search_finds_the_whole_registrys_pairs(
        demo_district: DemoDistrict, district_home: HubSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = district_home
    cipher, key = _keys(settings)
    extract = _doubled_registry(demo_district, tmp_path)
    with PipelineWorker(settings) as worker:
        result = worker.ingest(Path(demo_district.demo.datasets["grid"].source_yaml), extract)
        assert result.outcome == "loaded"
        assert worker.warehouse is not None
        con = worker.warehouse.con
        threshold = settings.linkage.auto_link
        spec = load_spec("registry_duplicates")
        whole = _whole_registry(con, cipher)
        reference = _pairs(registry_duplicates(spec, whole, threshold=threshold))
        # Small chunks of blocking values: a pair is found in whichever chunk holds it,
        # whether the chunk's forms come in one read or span several.
        for reads in (duplicates.STREAM_ROWS, 97):
            monkeypatch.setattr(duplicates, "STREAM_ROWS", reads)
            heard: list[tuple[str, int, int | None]] = []
            assert duplicates.find_registry_duplicates(
                con, cipher, threshold, key, per_chunk=20,
                progress=lambda *step, into=heard: into.append(step)) == len(reference) >= 10
            found = con.execute("SELECT resident_key, other_key, probability "
                                "FROM linkage.registry_duplicates "
                                "WHERE resident_key < other_key").fetchall()
            assert {(a, b): p for a, b, p in found} == pytest.approx(reference, rel=1e-12)
            # Progress through the chunks, ending with all of them done.
            chunks = heard[-1][2]
            assert chunks is not None
            assert chunks > 5
            assert heard[-1] == (duplicates.STAGE, chunks, chunks)
            assert [s for s in heard if s[0] == duplicates.STAGE] == sorted(
                s for s in heard if s[0] == duplicates.STAGE)
        # Above DUPLICATES_TRAINED_ON residents the model trains on a sample drawn by key;
        # the pairs are still those of the whole registry scored with that model.
        monkeypatch.setattr(duplicates, "DUPLICATES_TRAINED_ON", 1_000)
        sampled = duplicates.duplicates_model(con, cipher, spec)
        # The spec's prior m-probabilities, u from the drawn records: the planted pairs hold.
        assert set(reference) <= set(_pairs(score_duplicates(sampled, whole,
                                                             threshold=threshold)))
        assert duplicates.find_registry_duplicates(con, cipher, threshold, key, per_chunk=300) \
            == len(score_duplicates(sampled, whole, threshold=threshold))
        found = con.execute("SELECT resident_key, other_key, probability "
                            "FROM linkage.registry_duplicates "
                            "WHERE resident_key < other_key").fetchall()
        assert {(a, b): p for a, b, p in found} == pytest.approx(
            _pairs(score_duplicates(sampled, whole, threshold=threshold)), rel=1e-12)


def test_the_sealed_forms_are_the_features_the_registry_makes(
        district_home: HubSettings) -> None:
    settings = district_home
    cipher, key = _keys(settings)
    with PipelineWorker(settings) as worker:
        assert worker.warehouse is not None
        con = worker.warehouse.con
        heard: list[tuple[str, int, int | None]] = []
        registry_index.forget(con)
        refreshed = registry_index.refresh(con, cipher, key, chunk_residents=400,
                                           progress=lambda *step: heard.append(step))
        assert [done for _, done, _ in heard] == sorted(done for _, done, _ in heard)
        assert heard[-1] == ("registry index", refreshed["reopened"], refreshed["reopened"])
        whole = _whole_registry(con, cipher)
        forms = open_forms(con, cipher, f"(SELECT resident_key FROM {REGISTRY_INPUTS})")
        assert len(whole) > 1_000
        pd.testing.assert_frame_equal(forms, whole)
        # Sealed under each resident's own key: moved to another resident, they do not open.
        moved = con.execute(f"SELECT resident_key, lead(forms) OVER (ORDER BY resident_key) "
                            f"FROM {REGISTRY_INPUTS} ORDER BY resident_key LIMIT 5").fetch_df()
        with pytest.raises(VaultDecryptFailed):
            unseal_forms(moved.iloc[:, 0], moved.iloc[:, 1], cipher)


def _employment_with_new_phone(demo_district: DemoDistrict, tmp_path: Path) -> Path:
    """The employment extract again, one resident's rows with another phone."""
    source = Path(demo_district.demo.datasets["employment"].path)
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    person = next(r["zjhm"] for r in rows if r["lxdh"] and valid_id(str(r["zjhm"])))
    extract = tmp_path / "employment.jsonl"
    extract.write_text("".join(
        json.dumps({**r, "lxdh": "13700000000"} if r["zjhm"] == person else r,
                   ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return extract


def test_the_index_follows_the_registry_and_the_vault_key(
        demo_district: DemoDistrict, district_home: HubSettings, tmp_path: Path) -> None:
    settings = district_home
    cipher, key = _keys(settings)
    source = Path(demo_district.demo.datasets["grid"].path)
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    moved = next(r for r in rows if r["联系电话"])
    changed = [{**r, "联系电话": "13900000000"} if r is moved else r for r in rows]
    extract = tmp_path / "grid.csv"
    with extract.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(changed)
    with PipelineWorker(settings) as worker:
        assert worker.warehouse is not None
        con = worker.warehouse.con
        registry_index.refresh(con, cipher, key)
        residents = registry_index.registry_size(con)
        assert registry_index.refresh(con, cipher, key) == {
            "checked": 0, "reopened": 0, "dropped": 0}
        before = con.execute("SELECT count(*) FROM linkage.registry_blocks WHERE rule = 'phone'"
                             ).fetchall()
        # A department's batch naming a new phone of one resident: that resident alone is
        # compared (the registry's own phone still wins, so nothing is reopened).
        employment = _employment_with_new_phone(demo_district, tmp_path)
        result = worker.ingest(Path(demo_district.demo.datasets["employment"].source_yaml),
                               employment)
        assert result.outcome == "loaded"
        assert registry_index.refresh(con, cipher, key) == {
            "checked": 1, "reopened": 0, "dropped": 0}
        result = worker.ingest(Path(demo_district.demo.datasets["grid"].source_yaml), extract)
        assert result.outcome == "loaded"
        # One resident's phone changed in the registry: every resident is compared, that one
        # alone is opened and hashed again.
        assert registry_index.refresh(con, cipher, key) == {
            "checked": residents, "reopened": 1, "dropped": 0}
        assert con.execute("SELECT count(*) FROM linkage.registry_blocks WHERE rule = 'phone'"
                           ).fetchall() == before
        hashes = con.execute("SELECT resident_key, rule, block FROM linkage.registry_blocks "
                             "ORDER BY ALL").fetchall()
        # Another vault key: every hash is made again, none equal to before.
        other = block_key(bytes(64))
        assert registry_index.refresh(con, cipher, other)["reopened"] == residents
        rehashed = con.execute("SELECT resident_key, rule, block FROM linkage.registry_blocks "
                               "ORDER BY ALL").fetchall()
        assert len(rehashed) == len(hashes)
        assert not {b for _, _, b in rehashed} & {b for _, _, b in hashes}
        # What the index keeps names no one: keys, rule names, numbers and digests.
        needles = Needles.of(demo_district.demo)
        for table in ("linkage.registry_blocks", "linkage.registry_inputs",
                      "linkage.registry_index", "linkage.models"):
            text = "\n".join(map(str, con.execute(f"SELECT * FROM {table}").fetchall()))
            assert text, table
            assert privacy_hits(text.encode(), needles) == [], table


def test_an_index_built_in_chunks_or_after_a_crash_is_the_one_built_at_once(
        district_home: HubSettings) -> None:
    """A city's registry is digested a hash partition of residents at a time and opened a
    chunk at a time (bounded memory), and a build that dies part way leaves residents
    without a digest, which the next refresh reopens: either way the index is the one a
    single pass leaves."""
    cipher, key = _keys(district_home)
    tables = ("linkage.registry_inputs", "linkage.registry_blocks")

    def index_now(con: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}

    class Crash(Exception):
        pass

    def crash_after_first_chunk(stage: str, done: int, total: int | None) -> None:
        if done < (total or 0):
            raise Crash

    with PipelineWorker(district_home) as worker:
        assert worker.warehouse is not None
        con = worker.warehouse.con
        registry_index.forget(con)
        whole = registry_index.refresh(con, cipher, key, chunk_residents=10**9,
                                       partition_residents=10**9)
        once = index_now(con)
        registry_index.forget(con)
        chunked = registry_index.refresh(con, cipher, key, chunk_residents=300,
                                         partition_residents=700)
        again = index_now(con)
        registry_index.forget(con)
        with pytest.raises(Crash):
            registry_index.refresh(con, cipher, key, chunk_residents=300,
                                   progress=crash_after_first_chunk)
        written = len(index_now(con)["linkage.registry_inputs"])
        assert 0 < written < whole["checked"]
        resumed = registry_index.refresh(con, cipher, key, chunk_residents=300)
        after_crash = index_now(con)
    assert whole == chunked
    assert whole["checked"] > 300 * 3
    assert once == again == after_crash
    assert resumed["reopened"] == whole["checked"] - written  # taken up where it stopped
    assert len(once["linkage.registry_blocks"]) > whole["checked"]
