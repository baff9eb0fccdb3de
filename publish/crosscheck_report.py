"""What the cross-check gives back to people (SPEC §6): the 核对报告 and the digests.

核对报告: `out/crosscheck/<YYYY-MM-DD>/<town_code>.核对报告.xlsx`, one per town
per Shanghai date (the run's as-of date). Sheet 结论 has one row per
application checked that day (any error hit -> 不符合条件, only warnings ->
需说明, none -> 未发现异常); sheet 明细 every hit (case, masked member, rule,
source, evidence). A re-run the same day rewrites the file with the union of
the day's checks (they are kept in checks.crosscheck_checks / _hits).

Digests: per town, the cross-check hits and overdue items that are new since
the town's last delivered digest, plus the counts still open; M03 (annual
review of tekun) to the `district` tag.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from checks.crosscheck import RULES
from core.home import Home
from core.reference import Reference
from notify.digest import DISTRICT_TAG, DigestItem
from notify.record import last_delivered_at
from publish.files import write_workbook
from transforms.catalogue import RULES as CATALOGUE
from transforms.identifiers import mask_expr
from warehouse.sqlfiles import sql

SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
REASON_LABELS = {
    "new_application": "新申请",
    "new_version": "申请信息更新",
    "new_extract": "部门数据更新",
    "new_finding": "发现新的异常",
}
VERDICT_ERROR, VERDICT_WARNING, VERDICT_CLEAN = "不符合条件", "需说明", "未发现异常"


def report_path(home: Home, check_date: date, town_code: str) -> Path:
    return home.out / "crosscheck" / check_date.isoformat() / f"{town_code}.核对报告.xlsx"


def _labels(ref: Reference, field: str) -> dict[str, str]:
    return {code: label for label, code in ref.code_map(field).items()}


def conclusions_sheet(frame: pl.DataFrame, ref: Reference, check_date: date) -> pl.DataFrame:
    """结论: one row per application checked."""
    verdict = (
        pl.when(pl.col("errors") > 0)
        .then(pl.lit(VERDICT_ERROR))
        .when(pl.col("warnings") > 0)
        .then(pl.lit(VERDICT_WARNING))
        .otherwise(pl.lit(VERDICT_CLEAN))
    )
    return frame.with_row_index("序号", offset=1).select(
        pl.col("序号").cast(pl.Int64),
        pl.col("town_code").alias("镇街代码"),
        pl.col("case_no").alias("案件编号"),
        pl.col("program")
        .replace_strict(_labels(ref, "program"), default=pl.col("program"))
        .alias("救助类别"),
        pl.col("status").replace_strict(_labels(ref, "status"), default=pl.col("status")).alias("案件状态"),
        pl.col("received_on").alias("受理日期"),
        mask_expr(pl.col("head_id_no")).alias("户主身份证号"),
        pl.col("household_size").cast(pl.Int64).alias("家庭人口"),
        pl.col("covered_count").cast(pl.Int64).alias("保障人数"),
        pl.lit(check_date).alias("核对日期"),
        pl.col("reason").replace_strict(REASON_LABELS, default=pl.col("reason")).alias("核对原因"),
        verdict.alias("核对结论"),
        pl.col("errors").cast(pl.Int64).alias("错误"),
        pl.col("warnings").cast(pl.Int64).alias("警告"),
        pl.col("rules").alias("命中规则"),
    )


def hits_sheet(frame: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """明细: every hit, the member masked."""
    titles = {r: rule.title_zh for r, rule in CATALOGUE.items()}
    return frame.with_row_index("序号", offset=1).select(
        pl.col("序号").cast(pl.Int64),
        pl.col("case_no").alias("案件编号"),
        pl.when(pl.col("id_no").is_null())
        .then(pl.lit("（全户）"))
        .otherwise(mask_expr(pl.col("id_no")))
        .alias("成员身份证号"),
        pl.col("relation")
        .replace_strict(_labels(ref, "relation"), default=pl.col("relation"))
        .alias("与户主关系"),
        pl.col("rule_id").alias("规则"),
        pl.col("rule_id").replace_strict(titles, default=None).alias("规则名称"),
        pl.col("severity").replace_strict(SEVERITY_LABELS, default=pl.col("severity")).alias("严重程度"),
        pl.col("source").replace_strict(ref.source_labels(), default=pl.col("source")).alias("数据来源"),
        pl.col("evidence").alias("依据"),
        pl.col("message").alias("说明"),
        pl.col("finding_id").alias("核对结果编号"),
    )


def write_crosscheck_reports(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, check_date: date
) -> list[Path]:
    """Write (or rewrite) every town's 核对报告 for `check_date`; returns the paths written."""
    params = {"check_date": check_date}
    towns = [t for (t,) in con.execute(sql("crosscheck/report_towns"), params).fetchall()]
    written = []
    for town in towns:
        p = params | {"town_code": town}
        conclusions = con.sql(sql("crosscheck/report_conclusions"), params=p).pl()
        hits = con.sql(sql("crosscheck/report_hits"), params=p).pl()
        path = report_path(home, check_date, town)
        write_workbook(
            path,
            {"结论": conclusions_sheet(conclusions, ref, check_date), "明细": hits_sheet(hits, ref)},
            widths={"依据": 40, "说明": 60, "核对结果编号": 34, "成员身份证号": 22, "户主身份证号": 22},
        )
        written.append(path)
    return written


# ---------------------------------------------------------------- digests


def _item(row: dict) -> DigestItem:
    rule = RULES[row["rule_id"]]
    if row["escalated"]:
        return DigestItem(
            "hold", row["rule_id"], row["case_no"], f"逾期未处理，已暂停发放：{row['message']}", row["id_no"]
        )
    case = row["case_no"] if not rule.to_district else f"{row['town_code']} {row['case_no']}"
    return DigestItem(rule.digest_kind, row["rule_id"], case, row["message"], row["id_no"])


def crosscheck_digest_items(
    con: duckdb.DuckDBPyConnection, ref: Reference
) -> tuple[dict[str, list[DigestItem]], dict[str, dict[str, int]]]:
    """Per tag, the items new since its last delivered digest, and its open counts."""
    tags = [*ref.town_codes, DISTRICT_TAG]
    since = pl.DataFrame(
        {"tag": tags, "since": [last_delivered_at(con, t) for t in tags]},
        schema={"tag": pl.String, "since": pl.Datetime("us", "Asia/Shanghai")},
    )
    rule_ids = list(RULES)
    con.register("xc_since", since.to_arrow())
    try:
        items = con.sql(sql("crosscheck/digest_items"), params={"rule_ids": rule_ids}).pl()
    finally:
        con.unregister("xc_since")
    counts = con.sql(sql("crosscheck/open_counts"), params={"rule_ids": rule_ids}).pl()
    open_by_tag = {
        r["tag"]: {k: r[k] for k in ("crosscheck_hit", "overdue", "hold")}
        for r in counts.iter_rows(named=True)
    }
    by_tag = {
        tag: [_item(r) for r in rows.iter_rows(named=True)]
        for (tag,), rows in sorted(items.group_by("tag"), key=lambda g: g[0][0])
    }
    return by_tag, open_by_tag

