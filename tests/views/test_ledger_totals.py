"""The ledger's cash totals per resident equal the source extracts, computed independently."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from desensitize.keys import KeyRing
from desensitize.pseudonym import Pseudonymiser
from schemas.identity import normalise_resident_id
from tests.views.conftest import TODAY, Published, all_documents


def _keys(raw: pd.Series, settings: Any) -> pd.Series:
    ids = normalise_resident_id(raw.astype("string"), TODAY).values
    with Pseudonymiser(KeyRing.load_or_create(settings.keys_dir).pseudonym_key) as p:
        return p.pseudonymise(ids, "resident_id")


def _fen(value: Any) -> Decimal:
    return Decimal(int(value)) / 100 if pd.notna(value) else Decimal(0)


def _source_rows(published: Published) -> pd.DataFrame:
    """(resident_key, cash yuan, benefit) per benefit row of the three extracts, as files."""
    d = published.demo.datasets
    elderly = pd.read_csv(d["elderly_care"].path, encoding="gbk", dtype=str)
    medical = pd.read_excel(d["medical"].path, dtype=object)
    employment = pd.read_json(d["employment"].path, lines=True, dtype=False)
    frames = [
        pd.DataFrame({"id": elderly["身份证号"], "cash": elderly["救助形式"] == "现金",
                      "yuan": elderly["金额（元）"].map(Decimal)}),
        pd.DataFrame({"id": medical["身份证号"].astype(str), "cash": medical["救助形式"] == "现金",
                      "yuan": medical["金额（分）"].map(_fen),
                      "benefit": medical["业务类型"] != "门诊"}),
        pd.DataFrame({"id": employment["zjhm"].astype(str), "cash": employment["jzxs"] == "现金",
                      "yuan": employment["je_fen"].map(_fen),
                      "benefit": employment["xmlb"] != "无"}),
    ]
    rows = pd.concat(frames, ignore_index=True)
    rows["benefit"] = rows["benefit"].fillna(True).astype(bool)
    rows["resident_key"] = _keys(rows["id"], published.settings)
    return rows[rows["benefit"] & rows["resident_key"].notna()]


def test_cash_total_per_resident_equals_the_source_extracts(published: Published) -> None:
    rows = _source_rows(published)
    con = duckdb.connect(str(published.settings.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        ledger = con.sql("SELECT resident_key, count(*) AS n, sum(amount) FILTER "
                         "(WHERE kind = 'cash') AS cash FROM curated.assistance_ledger "
                         "GROUP BY resident_key").fetchdf()
    finally:
        con.close()
    ledger = ledger.set_index("resident_key")
    files = rows.groupby("resident_key").agg(
        n=("yuan", "size"),
        cash=("yuan", lambda s: sum(s[rows.loc[s.index, "cash"]], Decimal(0))))
    # Residents with a quarantined row (duplicate, unknown code) have fewer facts than rows.
    complete = files.index[files["n"] == ledger["n"].reindex(files.index)]
    assert len(complete) >= 0.9 * len(files)
    docs = all_documents(published.engine())
    compared = 0
    for key in complete:
        expected = files.at[key, "cash"]
        got = ledger.at[key, "cash"]
        assert Decimal(str(got if pd.notna(got) else 0)) == expected, key
        by_kind = {t["kind"]: Decimal(t["amount"]) for t in docs[key]["totals"]["by_kind"]}
        assert by_kind.get("cash", Decimal(0)) == expected
        by_year = sum((Decimal(t["amount"]) for t in docs[key]["totals"]["by_year"]
                       if t["kind"] == "cash"), Decimal(0))
        assert by_year == expected
        compared += 1
    assert compared > 200


def test_money_is_text_with_two_decimals(published: Published) -> None:
    docs = all_documents(published.engine())
    amounts = [f["amount"] for d in docs.values() for block in d["departments"]
               for f in block["facts"] if f["amount"] is not None]
    assert amounts
    assert all(isinstance(a, str) and a.split(".")[1].__len__() == 2
                           for a in amounts)
