"""Spot-inspection lists and manifest (SPEC §6), and the inspections mart.

`draw_month` makes a month's draw once: the population as of the draw, the
ratios, the seed, the selection, all stored in `checks.spotcheck_*` in one
transaction. A month that has a draw is never drawn again: `render_month`
writes `out/spotcheck/<YYYY-MM>/抽查名单_<town_code>.xlsx` and `manifest.json`
from the stored rows only, so every run gives the same files byte for byte.
`refresh_inspections_mart` rebuilds `mart.inspections_monthly`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from core.home import Home, now_shanghai
from core.periods import period_bounds, shift_period
from core.reference import Reference
from publish.files import write_text, write_workbook
from transforms import sampling
from warehouse.hashing import sha256_hex_expr
from warehouse.ingest_load import registered
from warehouse.sqlfiles import run, sql

TEST_SEED_SETTING = "spot_check_test_seed"
LIST_SHEET = "抽查名单"
RESULT_COLUMNS = ("核查日期", "核查结论", "问题类型", "处理意见")


# ---------------------------------------------------------------- paths


def spotcheck_dir(home: Home, period: str) -> Path:
    return home.out / "spotcheck" / period


def list_path(home: Home, period: str, town_code: str) -> Path:
    return spotcheck_dir(home, period) / f"抽查名单_{town_code}.xlsx"


def manifest_path(home: Home, period: str) -> Path:
    return spotcheck_dir(home, period) / "manifest.json"


# ---------------------------------------------------------------- the draw


@dataclass(frozen=True)
class DrawResult:
    period: str
    new: bool  # False: the month had been drawn before, nothing recomputed
    drawn_on: date
    population: int
    selected: int
    towns: int


def _spot_check_params(ref: Reference, period: str) -> dict:
    row = ref.spot_check(period_bounds(period)[0])
    return {
        "effective_from": row["effective_from"].isoformat(),
        "ratio": sampling.decimal_text(sampling.as_decimal(row["ratio"])),
        "minimum_per_town": int(row["minimum_per_town"]),
        "error_rate_threshold": sampling.decimal_text(sampling.as_decimal(row["error_rate_threshold"])),
        "ratio_step": sampling.decimal_text(sampling.as_decimal(row["ratio_step"])),
        "ratio_max": sampling.decimal_text(sampling.as_decimal(row["ratio_max"])),
    }


def new_seed(ref: Reference) -> tuple[bytes, str]:
    """The test seed from settings when set (64 hex digits), else 32 bytes from the OS."""
    text = (ref.setting(TEST_SEED_SETTING) or "").strip()
    if text:
        try:
            return sampling.parse_seed(text), "test_setting"
        except ValueError as exc:
            raise ValueError(f"settings {TEST_SEED_SETTING} must be 64 hex digits (or empty)") from exc
    return secrets.token_bytes(sampling.SEED_BYTES), "os"


def case_results(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    got = con.sql(sql("spotcheck/case_results"), params={"as_of": as_of}).pl()
    return (
        got.cast(sampling.CASE_RESULT_SCHEMA)
        if got.height
        else pl.DataFrame(schema=sampling.CASE_RESULT_SCHEMA)
    )


def previous_lower_bounds(
    con: duckdb.DuckDBPyConnection, ref: Reference, period: str, as_of: date
) -> tuple[str | None, dict[str, float | None]]:
    """The previous month (when it was drawn) and each town's 95% lower bound over all programs,
    from results received by `as_of`."""
    previous = shift_period(period, -1)
    drawn = con.execute("SELECT count(*) FROM checks.spotcheck_draws WHERE period = ?", [previous]).fetchall()
    if drawn[0][0] == 0:
        return None, {}
    cases = case_results(con, as_of).filter(pl.col("period") == previous)
    rates = sampling.inspections_monthly(cases, ref.town_codes, {})
    rows = rates.filter(pl.col("program") == sampling.ALL_PROGRAMS)
    return previous, dict(zip(rows["town_code"].to_list(), rows["ci_low"].to_list(), strict=True))


def draw_month(
    con: duckdb.DuckDBPyConnection, ref: Reference, period: str, as_of: date, run_id: str
) -> DrawResult:
    """Draw the sample of `period` once; a month already drawn is returned as it was."""
    first, last = period_bounds(period)
    if as_of <= last:
        raise ValueError(
            f"cannot sample {period} on {as_of}: the month has not ended (sample it from {last + timedelta(days=1)})"
        )
    existing = _stored_draw(con, period)
    if existing is not None:
        return existing

    population = con.sql(
        sql("spotcheck/population"), params={"as_of": as_of, "period_start": first, "period_end": last}
    ).pl()
    params = _spot_check_params(ref, period)
    previous, lower = previous_lower_bounds(con, ref, period, as_of)
    towns = sorted(set(population["town_code"].to_list())) if population.height else []
    ratio_rows = []
    for town in towns:
        ci_low = lower.get(town)
        ratio, raised = sampling.town_ratio(
            params["ratio"], params["ratio_step"], params["ratio_max"], params["error_rate_threshold"], ci_low
        )
        ratio_rows.append(
            {
                "town_code": town,
                "ratio": sampling.decimal_text(ratio),
                "minimum_per_town": params["minimum_per_town"],
                "base_ratio": params["ratio"],
                "raised": raised,
                "previous_period": previous,
                "previous_ci_low": ci_low,
            }
        )
    ratio_frame = pl.DataFrame(
        ratio_rows,
        schema={
            "town_code": pl.String,
            "ratio": pl.String,
            "minimum_per_town": pl.Int64,
            "base_ratio": pl.String,
            "raised": pl.Boolean,
            "previous_period": pl.String,
            "previous_ci_low": pl.Float64,
        },
    )
    seed, source = new_seed(ref)
    if population.height:
        typed = population.cast({k: v for k, v in sampling.POPULATION_SCHEMA.items()})
        hashed = typed.with_columns(  # sampling.case_hash of each row, by DuckDB (1M rows: 1 s, not 4)
            hash_hex=sha256_hex_expr(pl.concat_str("town_code", "case_no"), prefix=sampling.seed_bytes(seed)))
        cases, town_rows = sampling.draw(hashed, seed, ratio_frame)
    else:
        cases = population.with_columns(
            mandatory_reasons=pl.lit(None, pl.String),
            mandatory=pl.lit(False),
            hash_hex=pl.lit(None, pl.String),
            selection_order=pl.lit(None, pl.Int32),
            selected=pl.lit(False),
        )
        town_rows = pl.DataFrame(
            schema={
                "town_code": pl.String,
                "k": pl.Int64,
                "mandatory": pl.Int64,
                "selected": pl.Int64,
                "population": pl.Int64,
            }
        )
    town_table = ratio_frame.join(
        town_rows.select("town_code", "population", "k", "mandatory", "selected"), on="town_code"
    ).with_columns(period=pl.lit(period))
    case_table = cases.with_columns(period=pl.lit(period)).select(
        "period",
        "town_code",
        "case_no",
        "program",
        "version_id",
        "first_version_id",
        "first_approved_on",
        "staff_relative",
        "complaint",
        "open_error_rules",
        "mandatory",
        "hash_hex",
        "selected",
        "selection_order",
    )
    draw_row = pl.DataFrame(
        {
            "period": [period],
            "seed_hex": [seed.hex()],
            "seed_source": [source],
            "method": [sampling.METHOD],
            "drawn_on": [as_of],
            "drawn_at": [now_shanghai()],
            "run_id": [run_id],
            "spot_check_json": [json.dumps(params, ensure_ascii=False, sort_keys=True)],
            "population": [int(case_table.height)],
            "selected": [int(case_table["selected"].sum()) if case_table.height else 0],
        }
    )
    con.execute("BEGIN TRANSACTION")
    try:
        with registered(con, "new_draw", draw_row):
            run(con, "spotcheck/insert_draw")
        with registered(con, "new_towns", town_table):
            run(con, "spotcheck/insert_towns")
        if case_table.height:
            with registered(con, "new_cases", case_table):
                run(con, "spotcheck/insert_cases")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return DrawResult(period, True, as_of, case_table.height, draw_row["selected"][0], town_table.height)


def _stored_draw(con: duckdb.DuckDBPyConnection, period: str) -> DrawResult | None:
    rows = run(con, "spotcheck/stored_draw", {"period": period}).fetchall()
    if not rows:
        return None
    drawn_on, population, selected, towns = rows[0]
    return DrawResult(period, False, drawn_on, population, selected, towns)


# ---------------------------------------------------------------- the files


def manifest_payload(con: duckdb.DuckDBPyConnection, ref: Reference, period: str) -> dict:
    """The published manifest of a drawn month, from the stored draw only."""
    draws = run(con, "spotcheck/draw_read", {"period": period}).fetchall()
    if not draws:
        raise ValueError(f"{period} has not been sampled")
    seed_hex, seed_source, method, drawn_on, drawn_at, params_json = draws[0]
    towns = con.sql(sql("spotcheck/draw_towns"), params={"period": period}).pl()
    cases = con.sql(sql("spotcheck/draw_cases"), params={"period": period}).pl()
    params = json.loads(params_json)
    town_entries = []
    for t in towns.iter_rows(named=True):
        mine = cases.filter(pl.col("town_code") == t["town_code"])
        mandatory = mine.filter(pl.col("mandatory"))
        selected = mine.filter(pl.col("selected")).sort("selection_order")
        info = ref.town(t["town_code"])
        town_entries.append(
            {
                "town_code": t["town_code"],
                "town_name": info["name"] if info else None,
                "population_count": t["population"],
                "population": mine["case_no"].to_list(),
                "ratio": t["ratio"],
                "ratio_basis": {
                    "base": t["base_ratio"],
                    "raised": t["raised"],
                    "previous_period": t["previous_period"],
                    "previous_ci_low": t["previous_ci_low"],
                    "threshold": params["error_rate_threshold"],
                    "step": params["ratio_step"],
                    "max": params["ratio_max"],
                },
                "minimum": t["minimum_per_town"],
                "k": t["k"],
                "mandatory": [
                    {"case_no": r["case_no"], "reasons": _reasons(r)} for r in mandatory.iter_rows(named=True)
                ],
                "selected": [
                    {
                        "case_no": r["case_no"],
                        "by": "mandatory" if r["mandatory"] else "hash",
                        "hash": r["hash_hex"],
                    }
                    for r in selected.iter_rows(named=True)
                ],
                "selected_count": selected.height,
            }
        )
    return {
        "manifest_version": sampling.MANIFEST_VERSION,
        "method": method,
        "method_description": "docs/spotcheck-method.md",
        "period": period,
        "drawn_on": drawn_on.isoformat(),
        "drawn_at": drawn_at.isoformat(timespec="seconds"),
        "seed_hex": seed_hex,
        "seed_source": seed_source,
        "hash": {
            "algorithm": "SHA-256",
            "input": "seed as 32 raw bytes (decoded from seed_hex) || town_code as UTF-8 (9 bytes) "
            "|| case_no as UTF-8; no separators",
            "order": "ascending by digest (bytes, equal to lower-case hex as text); ties by case_no",
        },
        "population_rule": "cases whose first approved version (not baseline) was ingested in the period, "
        "as of drawn_on, excluding cases void at the draw",
        "sample_size_rule": "k = min(N, max(ceil(ratio x N), minimum)), ratio as an exact decimal",
        "selection_rule": "every mandatory case (staff_relative, complaint, open_error), then the other "
        "population cases in hash order until k; selected lists mandatory cases (by case_no) first",
        "spot_check": params,
        "totals": {
            "towns": len(town_entries),
            "population": sum(t["population_count"] for t in town_entries),
            "mandatory": sum(len(t["mandatory"]) for t in town_entries),
            "selected": sum(t["selected_count"] for t in town_entries),
        },
        "towns": town_entries,
    }


def _reasons(row: dict) -> list[str]:
    out = []
    if row["staff_relative"]:
        out.append(sampling.REASON_STAFF_RELATIVE)
    if row["complaint"]:
        out.append(sampling.REASON_COMPLAINT)
    if row["open_error_rules"]:
        out += [f"{sampling.REASON_OPEN_ERROR}:{r}" for r in row["open_error_rules"].split(",")]
    return out


LIST_SCHEMA = {
    "序号": pl.Int64,
    "镇街代码": pl.String,
    "镇街": pl.String,
    "案件编号": pl.String,
    "村社区": pl.String,
    "救助类别": pl.String,
    "户主姓名": pl.String,
    "户主身份证号": pl.String,
    "家庭人数": pl.Int64,
    "保障人数": pl.Int64,
    "月保障金额": pl.Decimal(12, 2),
    "审批日期": pl.Date,
    "审批人": pl.String,
    "批准报送入库日期": pl.Date,
    "抽取方式": pl.String,
    "必查原因": pl.String,
} | {c: pl.String for c in RESULT_COLUMNS}


def _reason_text_expr() -> pl.Expr:
    """The mandatory reasons in Chinese, joined by 、 (null: none)."""
    labels = sampling.REASON_LABELS_ZH
    rules = pl.col("open_error_rules").fill_null("")
    parts = pl.concat_list(
        pl.when(pl.col("staff_relative").fill_null(False)).then(pl.lit(labels[sampling.REASON_STAFF_RELATIVE])),
        pl.when(pl.col("complaint").fill_null(False)).then(pl.lit(labels[sampling.REASON_COMPLAINT])),
        pl.when(rules != "").then(
            pl.lit(f"{labels[sampling.REASON_OPEN_ERROR]}（") + rules.str.replace_all(",", "、", literal=True)
            + pl.lit("）")
        ),
    ).list.drop_nulls()
    return pl.when(parts.list.len() > 0).then(parts.list.join("、"))


def list_frames(con: duckdb.DuckDBPyConnection, ref: Reference, period: str) -> dict[str, pl.DataFrame]:
    """town_code -> the inspectors' list (Chinese headers), with empty columns for the results."""
    rows = con.sql(sql("spotcheck/list_rows"), params={"period": period}).pl()
    if rows.is_empty():
        return {}
    labels = {code: label for label, code in ref.code_map("program").items()}
    towns = sorted(set(rows["town_code"].to_list()))
    names = {t: (ref.town(t) or {}).get("name") for t in towns}
    listed = rows.sort("town_code", "selection_order", maintain_order=True).select(
        pl.col("selection_order").alias("序号"),
        pl.col("town_code").alias("镇街代码"),
        pl.col("town_code").replace_strict(names, default=None, return_dtype=pl.String).alias("镇街"),
        pl.col("case_no").alias("案件编号"),
        pl.col("village").alias("村社区"),
        pl.col("program").replace_strict(labels, default=pl.col("program"), return_dtype=pl.String)
        .alias("救助类别"),
        pl.col("head_name").alias("户主姓名"),
        pl.col("head_id_no").alias("户主身份证号"),
        pl.col("household_size").alias("家庭人数"),
        pl.col("covered_count").alias("保障人数"),
        pl.col("monthly_benefit").alias("月保障金额"),
        pl.col("decided_on").alias("审批日期"),
        pl.col("decided_by").alias("审批人"),
        pl.col("first_approved_on").alias("批准报送入库日期"),
        pl.when(pl.col("mandatory")).then(pl.lit("必查")).otherwise(pl.lit("随机抽取")).alias("抽取方式"),
        _reason_text_expr().alias("必查原因"),
        *(pl.lit(None, pl.String).alias(c) for c in RESULT_COLUMNS),
    ).cast(LIST_SCHEMA)
    return {town: listed.filter(pl.col("镇街代码") == town) for town in towns}


def render_month(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, period: str) -> dict:
    """Write (again) the lists and the manifest of a drawn month; returns paths and the manifest hash.

    The manifest text is stored with the draw when first written and written
    verbatim by every later run; the lists are rendered from the stored draw
    and the versions it names (versions never change once written).
    """
    stored = con.execute(
        "SELECT manifest_json FROM checks.spotcheck_draws WHERE period = ?", [period]
    ).fetchall()
    if not stored:
        raise ValueError(f"{period} has not been sampled")
    text = stored[0][0]
    if text is None:
        text = json.dumps(manifest_payload(con, ref, period), ensure_ascii=False, indent=2) + "\n"
        run(
            con,
            "spotcheck/set_manifest",
            {"manifest_json": text, "manifest_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "period": period},
        )
    lists = []
    for town, frame in list_frames(con, ref, period).items():
        lists.append(
            write_workbook(
                list_path(home, period, town),
                {LIST_SHEET: frame},
                widths={"户主身份证号": 20, "案件编号": 16, "必查原因": 24},
            )
        )
    path = manifest_path(home, period)
    write_text(path, text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return {"manifest": str(path), "manifest_sha256": digest, "lists": [str(p) for p in lists]}


def draw_and_publish(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, period: str, as_of: date, run_id: str
) -> dict:
    """Draw the month once (or find its draw) and write its lists and manifest; counts and the hash."""
    drawn = draw_month(con, ref, period, as_of, run_id)
    files = render_month(con, home, ref, period)
    return {
        "period": period,
        "new_draw": drawn.new,
        "drawn_on": drawn.drawn_on.isoformat(),
        "towns": drawn.towns,
        "population": drawn.population,
        "selected": drawn.selected,
        "manifest_sha256": files["manifest_sha256"],
        "lists": len(files["lists"]),
    }



# ---------------------------------------------------------------- the mart


def refresh_inspections_mart(con: duckdb.DuckDBPyConnection, ref: Reference, as_of: date) -> int:
    """Rebuild mart.inspections_monthly for every drawn month from results received by `as_of`."""
    periods = [
        r[0] for r in con.execute("SELECT period FROM checks.spotcheck_draws ORDER BY period").fetchall()
    ]
    cases = case_results(con, as_of)
    next_params = {p: _as_next(ref, shift_period(p, 1)) for p in periods}
    mart = sampling.inspections_monthly(cases, ref.town_codes, next_params)
    con.execute("BEGIN TRANSACTION")
    try:
        run(con, "spotcheck/inspections_mart_clear")
        if mart.height:
            with registered(con, "new_mart", mart):
                run(con, "spotcheck/inspections_mart_insert")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return mart.height


def _as_next(ref: Reference, period: str) -> dict:
    p = _spot_check_params(ref, period)
    return {
        "ratio": Decimal(p["ratio"]),
        "ratio_step": Decimal(p["ratio_step"]),
        "ratio_max": Decimal(p["ratio_max"]),
        "error_rate_threshold": Decimal(p["error_rate_threshold"]),
    }
