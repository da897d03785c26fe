"""Offline, value-free HTML reports: per batch, per dataset over time, district overview.

Rendered from stored results (never from rows) with the hub's page templates
(hub/pages/templates/quality/): inline stylesheet and inline SVG only, no script, no URL;
links between reports are relative file names. What reaches a page is metadata, counts,
shares, aggregates of non-sensitive columns and pseudonymous resident keys (in findings),
never an identifier or a sensitive value: GX's Data Docs are not used because they fetch
assets online and print failing values.
"""

from __future__ import annotations

from typing import Any

from hub.pages.charts import bar_chart, line_chart
from hub.pages.environment import render_page

FRESHNESS_COLOURS = {"current": "#27ae60", "due": "#e67e22", "overdue": "#c0392b"}


def render_batch(result: dict[str, Any]) -> str:
    return render_page("quality/batch.html", **batch_context(result))


def batch_context(result: dict[str, Any]) -> dict[str, Any]:
    """What quality/batch.html draws: the console renders the same template in its frame."""
    failed = [e for e in result["expectations"] if e.get("success") is False]
    quarantine = result.get("quarantine", [])
    errors = [(f"{q['column']} {q['rule']}", float(q["rows"]))
              for q in quarantine if q["severity"] == "error"]
    shares = [(e["id"], 100 * float(e["unexpected_share"])) for e in failed
              if e.get("unexpected_share") is not None]
    return dict(
        r=result, failed=failed, quarantine=quarantine,
        quarantine_chart=bar_chart(errors, title="各规则隔离行数 quarantined rows per rule"),
        failed_chart=bar_chart(shares, title="未通过的检查：行占比 checks not met: share of "
                                             "rows (%)", unit="%",
                               colors=["#c0392b"] * len(shares)))


def render_dataset(detail: dict[str, Any], batch_files: dict[str, str]) -> str:
    return render_page("quality/dataset.html", **dataset_context(detail, batch_files))


def dataset_context(detail: dict[str, Any], batch_files: dict[str, str]) -> dict[str, Any]:
    history = detail["quality_history"]
    score_chart = line_chart([("score", [float(h["score"]) for h in history])],
                             [str(h["evaluated_at"])[:10] for h in history],
                             title="各批次质量分 quality score per batch",
                             y_label="检查日期 checked on", y_max=100.0)
    fresh = detail["freshness_history"]
    promise = detail["update_frequency_days"]
    lag_chart = line_chart([("lag", [float(p["lag_days"]) for p in fresh])],
                           [p["loaded_on"] for p in fresh],
                           title="每批入库时的数据滞后（天） data lag (days) when each batch "
                                 "was loaded",
                           y_label="入库日期 loaded on",
                           threshold=(f"承诺 promise {promise} d", float(promise))
                           if promise else None)
    return dict(d=detail, batch_files=batch_files, score_chart=score_chart,
                lag_chart=lag_chart)


def render_overview(overview: dict[str, Any]) -> str:
    return render_page("quality/overview.html", **overview_context(overview))


def overview_context(overview: dict[str, Any]) -> dict[str, Any]:
    datasets = overview["datasets"]
    scored = [(d["name"], float(d["quality_score"])) for d in datasets
              if d["quality_score"] is not None]
    lagged = [d for d in datasets if d["freshness"]["lag_days"] is not None]
    lag_chart = bar_chart([(f"{d['name']} (承诺 promise {d['update_frequency_days']} d)",
                            float(d["freshness"]["lag_days"])) for d in lagged],
                          title="数据滞后天数 data lag in days", unit=" d",
                          colors=[FRESHNESS_COLOURS.get(d["freshness"]["status"], "#777")
                                  for d in lagged])
    return dict(
        o=overview,
        overdue=sum(1 for d in datasets if d["freshness"]["status"] == "overdue"),
        score_chart=bar_chart(scored, title="最新质量分 latest quality score", max_value=100.0),
        lag_chart=lag_chart)
