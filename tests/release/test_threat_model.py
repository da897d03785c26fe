"""Every dataset of the 2,000-resident demo district released and attacked with plain pandas,
independently of the release code (tests/release/attack_kit.py): k and l per person, every
insider of the threat model linking their own rows, the differencing attack on the aggregate
table with the extract beside it, and two recipients' copies joined on content."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pytest

from desensitize.release.column_plan import plan_release
from desensitize.release.errors import ReleaseRiskTooHigh
from desensitize.release.prepare import ReleaseOptions
from desensitize.release.pseudonyms import release_pseudonyms
from desensitize.release.release import build_release
from hub.keys.config import load_keyring
from hub.pipeline.worker import PipelineWorker
from hub.release.export import export_dataset
from hub.release.source_rows import read_rows
from hub.settings import HubSettings
from schemas.registry import get_contract
from schemas.spec import ContractSpec, ReleaseRole
from tests.release import attack_kit as kit
from tests.release.conftest import RELEASED, Home

pytestmark = pytest.mark.slow

RECIPIENTS = ("study-a", "study-b")
THRESHOLD = 0.01


@dataclass
class Released:
    frame: pd.DataFrame
    report: dict[str, Any]
    table: pd.DataFrame


@pytest.fixture(scope="module")
def releases(home: Home, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[tuple[str, str], Released]:
    folder = tmp_path_factory.mktemp("threat")
    out: dict[tuple[str, str], Released] = {}
    keyring = load_keyring(home.settings)
    with PipelineWorker(home.settings) as worker:
        for dataset in RELEASED:
            for recipient in RECIPIENTS:
                path = folder / f"{dataset}-{recipient}.csv"
                export_dataset(worker, dataset, path, recipient=recipient, keyring=keyring)
                report = json.loads(path.with_name(f"{dataset}-{recipient}.report.json")
                                    .read_text(encoding="utf-8"))
                out[(dataset, recipient)] = Released(
                    pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]),
                    report,
                    pd.read_csv(path.with_name(f"{dataset}-{recipient}.aggregates.csv"),
                                dtype=str, keep_default_na=False, na_values=[""]))
    return out


@pytest.fixture(scope="module")
def raw(home: Home) -> dict[str, pd.DataFrame]:
    """Each dataset's current rows as its department holds them (grid codes in the standard
    scheme, which every department can look up in the crosswalk)."""
    con = duckdb.connect(str(home.settings.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        return {d: read_rows(con, get_contract(d), "resident_key").frame for d in RELEASED}
    finally:
        con.close()


def _groups(contract: ContractSpec) -> dict[str, dict[str, str]]:
    out = {}
    for column in contract.columns:
        if column.release is not None and column.curated_name:
            out[column.curated_name] = dict(column.release.groups)
    return out


def _generalised(raw_rows: pd.DataFrame, released: Released, contract: ContractSpec,
                 only: pd.Series | None = None) -> pd.DataFrame:
    """The department's rows at the release's levels, collapsed per person like a release:
    one row per distinct generalised row with its count of records (`only`: the rows a
    department granted, among all the dataset's rows)."""
    report = released.report["release"]
    groups = _groups(contract)
    out = pd.DataFrame({"key": raw_rows["resident_key"].astype(str)})
    for q in report["quasi_identifiers"]:
        if q["column"] == "records":
            continue
        source = raw_rows[q["source"]]
        if q["column"].endswith("_size"):  # a group key released as its group's size
            source = source.map(raw_rows.groupby(q["source"])["resident_key"].nunique())
        out[q["column"]] = kit.generalise(source, q, groups.get(q["source"], {}))
    for column in report["kept"]:
        values = raw_rows[column]
        out[column] = values.map(lambda v: None if v is None or pd.isna(v) else str(v)
                                 ).astype(object)
    columns = [c for c in out.columns if c != "key"]
    filled = out.fillna("") if only is None else out[only.to_numpy()].fillna("")
    collapsed = filled.groupby(["key", *columns], dropna=False).size().rename("n").reset_index()
    records = next((q for q in report["quasi_identifiers"] if q["column"] == "records"), None)
    if records is not None:
        collapsed["records"] = kit.generalise(collapsed["n"], records, {})
    return collapsed.drop(columns="n").replace("", None)


def _true_keys(released: Released, raw_rows: pd.DataFrame, home: Home, recipient: str
               ) -> pd.Series:
    """Release pseudonym -> hub key (the hub holds the master key; an attacker does not)."""
    keys = pd.Series(sorted(set(raw_rows["resident_key"].astype(str))))
    pseudonyms = release_pseudonyms(keys, load_keyring(home.settings).pseudonym_key,
                                    recipient, released.report["release_id"])
    return pd.Series(keys.to_numpy(), index=pseudonyms.to_numpy())


@pytest.mark.parametrize("dataset", RELEASED)
def test_k_and_l_hold_per_person(releases: dict[tuple[str, str], Released], dataset: str
                                 ) -> None:
    released = releases[(dataset, RECIPIENTS[0])]
    report = released.report["release"]
    frame = released.frame
    sensitive = report["sensitive"]
    qis = [q["column"] for q in report["quasi_identifiers"] if q["column"] not in sensitive]
    signature = kit.signatures(frame, "person_key", qis)
    persons_per_class = signature.value_counts()
    assert persons_per_class.min() == report["k_reached"] >= 5
    assert report["persons_released"] == len(signature)
    assert report["persons_suppressed_share"] <= 0.01
    for column in sensitive:
        values = frame.groupby("person_key")[column].agg(lambda s: set(s.fillna("")))
        per_class = values.groupby(signature).agg(lambda sets: len(set().union(*sets)))
        assert per_class.min() >= 2, column
        assert report["l_per_column"][column] == per_class.min()
    # Row figures beside the person figures.
    assert report["rows_released"] == len(frame)
    assert report["records_released"] <= report["records_in"]


@pytest.mark.parametrize("dataset", RELEASED)
def test_no_insider_reidentifies_more_than_the_threshold(
        releases: dict[tuple[str, str], Released], raw: dict[str, pd.DataFrame], home: Home,
        dataset: str) -> None:
    recipient = RECIPIENTS[0]
    released = releases[(dataset, recipient)]
    report = released.report["release"]
    contract = get_contract(dataset)
    rows = raw[dataset]
    population = _generalised(rows, released, contract)
    truth = _true_keys(released, rows, home, recipient)
    frame = released.frame.assign(key=released.frame["person_key"].map(truth))
    assert frame["key"].notna().all()
    every = [c for c in frame.columns if c not in ("person_key", "key")]
    # The department's own rows, generalised as the report says, are exactly the release.
    own = kit.signatures(population, "key", every)
    shown = kit.signatures(frame, "key", every)
    differ = own.loc[shown.index] != shown
    assert not differ.any(), (repr([list(x) for x in own.loc[shown.index][differ].head(1)]),
                              repr([list(x) for x in shown[differ].head(1)]), every)

    attackers: dict[str, tuple[list[str], pd.Series | None]] = {}
    owner = contract.release.row_owner if contract.release else None
    if owner is None:
        attackers[f"{contract.owner} (owner)"] = (every, None)
    known: dict[str, list[str]] = {}
    for column in contract.columns:
        rel = column.release
        if rel is None or rel.role == ReleaseRole.REMOVED:
            continue
        output = column.curated_name or column.name
        output = "household_size" if output == "household_key" else output
        for name in rel.known_by:
            if output in every:
                known.setdefault(name, []).append(output)
    for name, columns in known.items():
        attackers[name] = (columns, None)
    if owner is not None:
        for name in sorted(set(rows[owner].dropna().astype(str))):
            attackers[f"{name} (own rows)"] = ([c for c in every if c != "records"], rows[owner])
    assert attackers
    for name, (columns, row_owner) in attackers.items():
        pop = population
        rel_rows = frame
        if row_owner is not None:
            department = name.removesuffix(" (own rows)")
            mine = row_owner.astype(str) == department
            own_keys = set(rows.loc[mine, "resident_key"])
            own_rows = _generalised(rows, released, contract, mine)
            pop = own_rows
            rel_rows = frame.merge(own_rows[["key", *columns]].drop_duplicates(),
                                   on=["key", *columns], how="inner")
            rel_rows = rel_rows[rel_rows["key"].isin(own_keys)]
        views = kit.signatures(pop, "key", columns)
        seen = kit.signatures(rel_rows, "key", columns)
        hits = kit.unique_correct(seen, views)
        share = hits / report["persons_released"]
        assert share <= THRESHOLD, (name, share)
        figures = report["risk"]["attackers"][name]
        assert figures["unique_reidentified"] == hits, name


@pytest.mark.parametrize("dataset", RELEASED)
def test_no_suppressed_cell_is_recoverable(releases: dict[tuple[str, str], Released],
                                           dataset: str) -> None:
    released = releases[(dataset, RECIPIENTS[0])]
    report = released.report["release"]
    contract = get_contract(dataset)
    table = released.table
    category = report["aggregates"]["category"]
    geos = sorted(set(table["geography"]) - {"TOTAL"})
    cats = sorted(set(table[category]) - {"TOTAL"})
    rows, cols = [*geos, "TOTAL"], [*cats, "TOTAL"]
    hidden = table.set_index(["geography", category])["status"] == "suppressed"
    unknown = [(i, j) for i, g in enumerate(rows) for j, c in enumerate(cols) if hidden[(g, c)]]
    n, m = len(rows), len(cols)
    equations = [[((i, j), 1.0 if j < m - 1 else -1.0) for j in range(m)] for i in range(n)]
    equations += [[((i, j), 1.0 if i < n - 1 else -1.0) for i in range(n)] for j in range(m)]
    # The extract beside the table: counts at its released geography and category.
    levels = {q["source"]: q for q in report["quasi_identifiers"]}
    geo_q = next((q for q in report["quasi_identifiers"] if q["kind"] == "grid_code"), None)
    cat_q = levels.get(category)
    geo_key = (kit.generalise(pd.Series(geos), geo_q, {}) if geo_q
               else pd.Series(["*"] * len(geos)))
    cat_key = (kit.generalise(pd.Series(cats), cat_q, _groups(contract).get(category, {}))
               if cat_q else pd.Series(cats))
    extract: dict[tuple[str, str], list[tuple[tuple[int, int], float]]] = {}
    for i, g in enumerate(geo_key.fillna("-")):
        for j, c in enumerate(cat_key.fillna("-")):
            extract.setdefault((g, c), []).append(((i, j), 1.0))
    equations += list(extract.values())
    by_extract_alone = kit.determined([(i, j) for i in range(n) for j in range(m)], equations)
    leaks = kit.determined(unknown, equations) - by_extract_alone
    assert leaks == set()
    assert report["aggregates"]["recoverable_cells"] == 0
    # Small cells are withheld unless the extract itself already shows them.
    shown = table[table["status"] == "shown"]
    small = shown[pd.to_numeric(shown["persons"]) .between(1, 9)]
    for _, cell in small.iterrows():
        i, j = rows.index(cell["geography"]), cols.index(cell[category])
        assert (i, j) in by_extract_alone


@pytest.mark.parametrize("dataset", RELEASED)
def test_two_recipients_copies_do_not_join_on_content(
        releases: dict[tuple[str, str], Released], dataset: str) -> None:
    a, b = (releases[(dataset, r)] for r in RECIPIENTS)
    assert not set(a.frame["person_key"]) & set(b.frame["person_key"])
    content = [c for c in a.frame.columns if c != "person_key"]
    sig_a = kit.signatures(a.frame, "person_key", content)
    sig_b = kit.signatures(b.frame, "person_key", content)
    assert sorted(map(sorted, sig_a)) == sorted(map(sorted, sig_b))  # same generalisation
    holders = sig_b.value_counts()
    joined = int(sig_a.map(lambda s: holders.get(s, 0) == 1).sum())
    share = joined / len(sig_a)
    assert share <= THRESHOLD
    assert a.report["release"]["cross_recipient_join_share"] == pytest.approx(share)


def test_too_few_quasi_identifiers_are_refused_by_the_gate(raw: dict[str, pd.DataFrame],
                                                           home: Home) -> None:
    """Medical with amounts and dates called safe: the department links on them exactly."""
    spec = get_contract("medical").model_dump(by_alias=True)
    for column in spec["columns"]:
        if column["name"] in ("amount", "period_start", "period_end"):
            column["release"] = {"role": "safe", "reason": "deliberately misclassified"}
    lax = ContractSpec.model_validate(spec)
    assert "amount" in {c.output for c in plan_release(lax, []).kept}
    options = ReleaseOptions(recipient="study-a", release_id="rel-lax")
    with pytest.raises(ReleaseRiskTooHigh, match="medical_security") as refused:
        build_release(raw["medical"], lax, bytes(range(32)), options)
    assert refused.value.share > THRESHOLD
    assert "amount" in refused.value.columns
    # The same rows under the contract as written pass.
    build_release(raw["medical"], get_contract("medical"), bytes(range(32)), options)


def test_the_threshold_is_a_setting_per_recipient_class(raw: dict[str, pd.DataFrame]) -> None:
    settings = HubSettings(release_risk_thresholds="researcher=0.01,public=0")
    assert settings.release_risk_threshold("public") == 0.0
    assert settings.release_risk_threshold("someone-else") == 0.0  # the strictest
    strict = ReleaseOptions(recipient="study-a", release_id="rel-strict",
                            risk_threshold=settings.release_risk_threshold("public"),
                            recipient_class="public")
    rows = raw["grid"]
    try:
        release = build_release(rows, get_contract("grid"), bytes(range(32)), strict,
                                rows["grid_code"])
    except ReleaseRiskTooHigh as refused:
        assert "public" in str(refused)  # noqa: PT017
        return
    assert release.summary["risk"]["worst_share"] == 0.0
