"""Offline, value-free HTML reports: per batch, per dataset over time, district overview.

Rendered from stored results (never from rows), with inline CSS and inline SVG only: no
script, no CDN, no URL; links between reports are relative file names. Every text is
escaped. What reaches a page is metadata, counts, shares, aggregates of non-sensitive
columns and pseudonymous resident keys (in findings), never an identifier or a sensitive
value: GX's Data Docs are not used because they fetch assets online and print failing values.
"""

from __future__ import annotations

from html import escape
from typing import Any

from hub.quality.charts import bar_chart, line_chart

CSS = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2}.num{text-align:right}
.figures{display:flex;gap:16px;flex-wrap:wrap}
.figure{border:1px solid #ccc;border-radius:6px;padding:8px 14px;min-width:120px}
.figure .value{font-size:24px;font-weight:bold}.figure .label{font-size:12px;color:#555}
.ok{color:#1e7d32}.bad{color:#b71c1c;font-weight:bold}.warn{color:#b26a00;font-weight:bold}
.muted{color:#777}
"""
STATUS_CLASS = {"current": "ok", "due": "warn", "overdue": "bad", "no_data": "bad",
                "not_promised": "muted"}


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value))


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def _figure(ident: str, label: str, value: Any, css: str = "") -> str:
    return (f'<div class="figure"><div class="value {css}" id="{ident}">{_e(value)}</div>'
            f'<div class="label">{_e(label)}</div></div>')


def _table(head: list[str], rows: list[list[str]], ident: str = "") -> str:
    attr = f' id="{ident}"' if ident else ""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table{attr}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _share(value: Any) -> str:
    return "" if value is None else f"{float(value):.2%}"


def _verdict(success: Any) -> str:
    if success is None:
        return '<span class="muted">not evaluated</span>'
    return '<span class="ok">met</span>' if success else '<span class="bad">NOT MET</span>'


def _status(status: str) -> str:
    return f'<span class="{STATUS_CLASS.get(status, "")}">{_e(status)}</span>'


def render_batch(result: dict[str, Any]) -> str:
    r = result
    failed = [e for e in r["expectations"] if e.get("success") is False]
    body = [f"<h1>Quality report: {_e(r['dataset'])} batch {_e(r['batch_id'])}</h1>",
            f"<p>Department {_e(r.get('department'))}, source {_e(r.get('source'))}, "
            f"contract version {_e(r.get('contract_version'))}, data as of "
            f"{_e(r.get('as_of') or 'none (no row of it is in use)')}, outcome "
            f"<b>{_e(r['outcome'])}</b>. "
            f"Checked {_e(r['evaluated_at'][:19])} in {_e(r.get('seconds'))} s.</p>",
            *([f'<p class="reason">Why: {_e(r["reason"])}</p>'] if r.get("reason") else []),
            '<div class="figures">',
            _figure("score", "quality score (0-100)", f"{r['score']:.1f}"),
            _figure("rows-read", "rows read", r["rows_read"]),
            _figure("rows-loaded", "rows loaded", r["rows_loaded"]),
            _figure("rows-quarantined", "rows quarantined", r["rows_quarantined"],
                    "bad" if r["rows_quarantined"] else ""),
            _figure("checks-failed", "checks not met", len(failed), "bad" if failed else "ok"),
            "</div>", f'<p class="muted">{_e(r.get("score_note"))}</p>',
            "<h2>Rows rejected or flagged by the contract (pandera, row level)</h2>"]
    quarantine = r.get("quarantine", [])
    if quarantine:
        read = r["rows_read"] or 1
        body.append(_table(["column", "rule", "severity", "rows", "share of rows read"], [
            [_e(q["column"]), _e(q["rule"]), _e(q["severity"]),
             f'<span class="num">{q["rows"]}</span>', _share(q["rows"] / read)]
            for q in quarantine], "quarantine"))
        errors = [(f"{q['column']} {q['rule']}", float(q["rows"]))
                  for q in quarantine if q["severity"] == "error"]
        body.append(bar_chart(errors, title="quarantined rows per rule"))
    else:
        body.append("<p>No row broke the contract.</p>")
    body.append("<h2>Expectations (Great Expectations suite and hub checks)</h2>")
    rows = []
    for e in r["expectations"]:
        observed = e.get("observed")
        rows.append([_e(e["id"]), _e(e["kind"]), _e(e.get("type")), _e(e.get("column")),
                     _verdict(e.get("success")),
                     f'<span class="num">{_e(e.get("unexpected_count", ""))}</span>',
                     _share(e.get("unexpected_share")),
                     _e(observed) if observed is not None else "",
                     _e(e.get("description"))])
    body.append(_table(["check", "kind", "expectation", "column", "result", "unexpected rows",
                        "unexpected share", "observed (aggregate)", "what it checks"],
                       rows, "expectations"))
    shares = [(e["id"], 100 * float(e["unexpected_share"])) for e in failed
              if e.get("unexpected_share") is not None]
    if shares:
        body.append(bar_chart(shares, title="checks not met: share of rows (%)", unit="%",
                              colors=["#c0392b"] * len(shares)))
    return page(f"quality {r['dataset']} {r['batch_id']}", "".join(body))


def render_dataset(detail: dict[str, Any], batch_files: dict[str, str]) -> str:
    d = detail
    f = d["freshness"]
    body = [f"<h1>{_e(d['title'])} ({_e(d['name'])})</h1>",
            f"<p>{_e(d.get('description'))}</p>",
            f"<p>Owner <b>{_e(d['owner'])}</b>; sharing class {_e(d['sharing'])}; contract "
            f"version {_e(d['current_version'])}; legal basis: {_e(d.get('legal_basis'))}</p>",
            '<div class="figures">',
            _figure("freshness", "freshness", f["status"], STATUS_CLASS.get(f["status"], "")),
            _figure("lag-days", "data lag (days)", f["lag_days"]),
            _figure("frequency", "promised update (days)", d["update_frequency_days"]),
            _figure("score", "latest quality score",
                    "" if d["quality_score"] is None else f"{d['quality_score']:.1f}"),
            _figure("open-findings", "open consistency findings", d["open_findings"]),
            "</div>"]
    history = d["quality_history"]
    if history:
        body.append(line_chart([("score", [float(h["score"]) for h in history])],
                               [str(h["evaluated_at"])[:10] for h in history],
                               title="quality score per batch", y_label="checked on",
                               y_max=100.0))
    fresh = d["freshness_history"]
    if fresh:
        promise = d["update_frequency_days"]
        body.append(line_chart([("lag", [float(p["lag_days"]) for p in fresh])],
                               [p["loaded_on"] for p in fresh],
                               title="data lag (days) when each batch was loaded",
                               y_label="loaded on",
                               threshold=(f"promise {promise} d", float(promise))
                               if promise else None))
    body.append("<h2>Batches (lineage)</h2>")
    body.append(_table(
        ["batch", "source", "file sha256", "contract", "read", "loaded", "quarantined",
         "outcome", "as of", "finished"],
        [[(f'<a href="{_e(batch_files[b["batch_id"]])}">{_e(b["batch_id"])}</a>'
           if b["batch_id"] in batch_files else _e(b["batch_id"])),
          _e(b["source"]), _e((b["content_sha256"] or "")[:16]), _e(b["contract_version"]),
          _e(b["rows_read"]), _e(b["rows_loaded"]), _e(b["rows_quarantined"]),
          _e(b["outcome"]), _e(b["as_of"]), _e(str(b["finished_at"])[:19])]
         for b in d["batch_history"]], "batches"))
    body.append("<h2>Columns</h2>")
    body.append(_table(["column", "curated as", "type", "sensitivity", "sharing",
                        "de-identification", "description"],
                       [[_e(c["name"]), _e(c["curated_name"]), _e(c["type"]),
                         _e(c["sensitivity"]), _e(c["sharing"]), _e(c["deid"]),
                         _e(c["description"])] for c in d["columns"]], "columns"))
    body.append("<h2>Contract versions</h2>")
    body.append(_table(["version", "registered", "what changed", "columns added",
                        "removed", "changed"],
                       [[_e(v["version"]), _e((v["registered_at"] or "")[:19]), _e(v["note"]),
                         _e(", ".join(v["diff"]["added"])), _e(", ".join(v["diff"]["removed"])),
                         _e(", ".join(v["diff"]["changed"]))] for v in d["versions"]]))
    return page(f"dataset {d['name']}", "".join(body))


def render_overview(overview: dict[str, Any]) -> str:
    o = overview
    datasets = o["datasets"]
    body = [f"<h1>District data-quality overview</h1><p>As of {_e(o['today'])}: every "
            "dataset, its freshness against the promised update frequency, its latest "
            "quality score and the open cross-department findings.</p>",
            '<div class="figures">',
            _figure("datasets", "datasets", len(datasets)),
            _figure("overdue", "overdue datasets",
                    sum(1 for d in datasets if d["freshness"]["status"] == "overdue")),
            _figure("open-findings", "open findings", o["open_findings"]),
            "</div>", "<h2>Datasets</h2>"]
    body.append(_table(
        ["dataset", "owner", "version", "freshness", "as of", "lag (days)", "promised (days)",
         "quality score (data in use)", "last batch", "batches", "open findings"],
        [[f'<a href="datasets/{_e(d["name"])}.html">{_e(d["name"])}</a>', _e(d["owner"]),
          _e(d["current_version"]), _status(d["freshness"]["status"]),
          _e(d["freshness"]["as_of"]), _e(d["freshness"]["lag_days"]),
          _e(d["update_frequency_days"]),
          "" if d["quality_score"] is None else f"{d['quality_score']:.1f}",
          _e(d["last_batch"]["outcome"] if d.get("last_batch") else ""),
          _e(d["batches"]), _e(d["open_findings"])] for d in datasets], "datasets-table"))
    scored = [(d["name"], float(d["quality_score"])) for d in datasets
              if d["quality_score"] is not None]
    body.append(bar_chart(scored, title="latest quality score", max_value=100.0))
    lagged = [d for d in datasets if d["freshness"]["lag_days"] is not None]
    colors = {"current": "#27ae60", "due": "#e67e22", "overdue": "#c0392b"}
    body.append(bar_chart([(f"{d['name']} (promise {d['update_frequency_days']} d)",
                            float(d["freshness"]["lag_days"])) for d in lagged],
                          title="data lag in days", unit=" d",
                          colors=[colors.get(d["freshness"]["status"], "#777")
                                  for d in lagged]))
    body.append("<h2>Open cross-department findings</h2>")
    counts = o["finding_counts"]
    if counts:
        body.append(_table(["kind", "datasets", "findings"],
                           [[_e(c["kind"]), _e(", ".join(c["datasets"])),
                             f'<span class="num">{c["findings"]}</span>'] for c in counts],
                           "finding-counts"))
        body.append("<p>Residents appear only by their pseudonymous key; the owners look "
                    f"them up in their own systems. Up to {o['finding_limit']} per kind are "
                    "listed; findings.json has them all.</p>")
        body.append(_table(["kind", "resident key", "departments", "datasets", "detail",
                            "first seen"],
                           [[_e(f["kind"]), f"<code>{_e(f['resident_key'])}</code>",
                             _e(", ".join(f["departments"])), _e(", ".join(f["datasets"])),
                             _e(f["detail"]), _e(str(f["first_seen"])[:10])]
                            for f in o["findings"]], "findings"))
    else:
        body.append("<p>No open findings.</p>")
    return page("district data-quality overview", "".join(body))
