"""Benchmark: the V-rules and the Great Expectations suite over N member rows
(issue 4 goal: 2,200,000 member rows under 20 s on 2 cores, GX import apart).

A typed submission frame (as transforms.submission gives it) is generated in
memory: ~N/3 households across the 21 towns, dibao and tekun, mostly clean,
with a few anomalies. Then, timed separately:

  rules      transforms.vrules.rule_results + rule_findings (what ingest runs per file)
  gx import  the first `import great_expectations` in the process
  gx         gx_frame + to_pandas(Arrow) + the suite + Data Docs (what a validate run adds)
  recheck    (--warehouse) validate --all without GX: read the versions back from
             DuckDB, re-run the rules, upsert findings, clear

    .venv/bin/python bench/bench_validate.py --rows 2200000 [--warehouse]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from core.reference import load_reference
from transforms.entitlement import case_entitlement
from transforms.identifiers import id_birth_date_expr, id_check_char_expr, luhn_check_digit_expr

AS_OF = date(2025, 4, 5)


def typed_frame(rows: int, ref) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed member rows with case_key/case_no/town/ingested_on, previous)."""
    towns = ref.town_codes
    sizes = [1, 2, 3, 4, 5]
    n_cases = rows // 2 + 1
    cases = (
        pl.DataFrame({"i": pl.int_range(0, n_cases, eager=True)})
        .with_columns(
            case_key=pl.lit("C") + pl.col("i").cast(pl.String),
            town=pl.col("i").mod(21).replace_strict(list(range(21)), towns, return_dtype=pl.String),
            size=pl.col("i").mod(5).replace_strict(list(range(5)), sizes, return_dtype=pl.Int64),
            program=pl.when(pl.col("i").mod(10) < 3)
            .then(pl.lit("tekun_home"))
            .when(pl.col("i").mod(2) == 0)
            .then(pl.lit("dibao_urban"))
            .otherwise(pl.lit("dibao_rural")),
            day=pl.col("i").mod(20),
        )
        .with_columns(
            size=pl.when(pl.col("program") == "tekun_home").then(1).otherwise(pl.col("size")),
            status=pl.when(pl.col("i").mod(50) == 0).then(pl.lit("pending")).otherwise(pl.lit("approved")),
            received_on=pl.lit(date(2025, 2, 3)) + pl.duration(days=pl.col("day")),
            decided_on=pl.lit(date(2025, 3, 3)) + pl.duration(days=pl.col("day")),
        )
        .with_columns(
            applied_on=pl.col("received_on"),
            visited_on=pl.col("received_on") + pl.duration(days=3),
            publicity_from=pl.col("decided_on") + pl.duration(days=1),
            publicity_to=pl.col("decided_on") + pl.duration(days=7),
            decided_level=pl.lit("town"),
            benefit_from=pl.lit(date(2025, 4, 1)),
            account_payload=pl.lit("622202") + pl.col("i").cast(pl.String).str.zfill(12),
        )
        .with_columns(account_no=pl.col("account_payload") + luhn_check_digit_expr(pl.col("account_payload")))
    )
    members = (
        cases.select("i", "case_key", "size", "program")
        .with_columns(m=pl.int_ranges(0, pl.col("size")))
        .explode("m")
        .with_columns(
            born=pl.when(pl.col("program") == "tekun_home")
            .then(pl.lit(date(1945, 1, 1)) + pl.duration(days=pl.col("i").mod(3000)))
            .otherwise(
                pl.lit(date(1960, 1, 1)) + pl.duration(days=(pl.col("i") * 7 + pl.col("m") * 3001).mod(20000))
            ),
        )
        .with_columns(
            first17=pl.lit("500110")
            + pl.col("born").dt.to_string("%Y%m%d")
            + (pl.col("i").mod(900) + 100).cast(pl.String).str.slice(0, 2)
            + pl.col("m").cast(pl.String),
        )
        .with_columns(id_no=pl.col("first17") + id_check_char_expr(pl.col("first17")))
        .with_columns(
            relation=pl.when(pl.col("m") == 0).then(pl.lit("head")).otherwise(pl.lit("child")),
            covered=pl.lit(True),
            monthly_income_fen=pl.when(pl.col("m") == 0).then(pl.col("i").mod(300) * 100).otherwise(0),
            self_care=pl.when(pl.col("program") == "tekun_home").then(pl.lit("全自理")),
            name=pl.lit("姓名"),
            disability_type=pl.lit(None, dtype=pl.String),
            disability_grade=pl.lit(None, dtype=pl.Int8),
            serious_illness=pl.lit(False),
            schooling=pl.lit(None, dtype=pl.String),
            work_ability=pl.lit(None, dtype=pl.String),
            birth_date=id_birth_date_expr(pl.col("id_no")),
        )
        .head(rows)
    )
    ent = case_entitlement(
        cases.select(
            "case_key",
            "program",
            standard_month=pl.col("decided_on").dt.month_start(),
            age_on=pl.col("decided_on"),
        ),  # fmt: skip
        members,
        ref.tables,
        keys=("case_key",),
    )
    cases = cases.join(ent.select("case_key", "entitlement_fen"), on="case_key").with_columns(
        # one in a thousand is 5 yuan off (V09)
        monthly_benefit_fen=pl.col("entitlement_fen")
        + pl.when(pl.col("i").mod(1000) == 7).then(500).otherwise(0)
    )
    typed = (
        members.drop("birth_date", "first17", "born", "size", "program")
        .join(cases.drop("size", "day", "account_payload", "entitlement_fen"), on=["i", "case_key"])
        .with_columns(
            case_no=pl.col("case_key"),
            town_code=pl.col("town"),
            ingested_on=pl.lit(AS_OF),
            source_row=(pl.int_range(0, pl.len()) + 2).cast(pl.Int64),
            extended=pl.lit(False),
            gradual_exit=pl.lit(False),
            staff_relative=pl.lit(False),
            complaint=pl.lit(False),
            village=pl.lit(None, dtype=pl.String),
            reviewed_on=pl.lit(None, dtype=pl.Date),
            decided_by=pl.lit(None, dtype=pl.String),
            rechecked_on=pl.lit(None, dtype=pl.Date),
            bank=pl.lit("农商行"),
            account_holder=pl.lit(None, dtype=pl.String),
            remark=pl.lit(None, dtype=pl.String),
            annual_review_on=pl.lit(None, dtype=pl.Date),
        )
        .drop("i", "m")
    )
    previous = cases.select(
        "case_key",
        ever_approved=pl.lit(False),
        ever_decided=pl.lit(False),
        first_ingested_on=pl.lit(date(2025, 2, 5)),
    )
    return typed, previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_200_000)
    parser.add_argument("--warehouse", action="store_true", help="also time validate --all against DuckDB")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()
    ref = load_reference()
    t = time.perf_counter()
    typed, previous = typed_frame(args.rows, ref)
    print(f"threads              {pl.thread_pool_size():>12}")
    cases = typed["case_key"].n_unique()
    print(
        f"member rows          {typed.height:>12,}  (cases {cases:,}; generated in {time.perf_counter() - t:.1f} s)"
    )

    from checks.validation import working_calendar
    from transforms.vrules import VRULES, rule_findings, rule_results

    t, c = time.perf_counter(), time.process_time()
    results = rule_results(typed, previous, ref.tables, working_calendar(ref["holidays"]), rules=VRULES)
    t_rules, c_rules = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    findings = rule_findings(results)
    t_find, c_find = time.perf_counter() - t, time.process_time() - c
    by_rule = dict(sorted(findings.group_by("rule_id").len().iter_rows()))
    print(f"rules (Polars)       {t_rules:>12.1f} s   (CPU {c_rules:.1f} s)")
    print(f"findings + messages  {t_find:>12.1f} s   (CPU {c_find:.1f} s)  {by_rule}")

    from checks import gx_suite

    t = time.perf_counter()
    gx_suite._gx()
    t_import = time.perf_counter() - t
    root = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    c = time.process_time()
    out = gx_suite.validate_results(
        results, site_dir=root / "out" / "validation", results_dir=root / "gx", run_name="bench",
        value_sets=gx_suite.value_sets_from_reference(ref),
    )  # fmt: skip
    print(f"gx import            {t_import:>12.1f} s   (reported apart)")
    c_gx = time.process_time() - c
    print(f"gx validate + docs   {out.validate_seconds:>12.1f} s   (CPU {c_gx:.1f} s)  rows {out.rows}")
    print(f"gx structure fails   {len(out.structure_failures):>12}   {out.structure_failures}")
    agree = {r: n for r, n in out.unexpected.items() if n} == by_rule
    print(f"gx agrees with rules {agree!s:>12}")
    total = t_rules + t_find + out.validate_seconds
    print(f"total (no import)    {total:>12.1f} s   (CPU {c_rules + c_find + c_gx:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")  # fmt: skip

    if args.warehouse:
        recheck_in_warehouse(root, typed, ref)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS             {peak:>12.0f} MB")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def recheck_in_warehouse(root: Path, typed: pl.DataFrame, ref) -> None:
    """validate --all (rules and findings, no GX) over the same rows stored as current versions."""
    from checks.validation import recheck_versions
    from core.home import Home
    from transforms.money import fen_to_decimal_expr
    from warehouse.connection import open_warehouse

    home = Home(root).ensure()
    versions = (
        typed.group_by("case_key", maintain_order=True)
        .agg(
            pl.exclude(
                "name",
                "id_no",
                "relation",
                "covered",
                "monthly_income_fen",
                "self_care",
                "source_row",
                "disability_type",
                "disability_grade",
                "serious_illness",
                "schooling",
                "work_ability",
                "annual_review_on",
            ).first(),
            household_size=pl.len().cast(pl.Int32),
        )  # fmt: skip
        .with_columns(
            version_id=pl.col("case_key"),
            town_code=pl.col("town"),
            file_sha256=pl.lit("bench"),
            seq=pl.int_range(1, pl.len() + 1).cast(pl.Int64),
            run_id=pl.lit("bench"),
            is_baseline=pl.lit(False),
            content_sha256=pl.lit("x"),
            acceptance=pl.lit("loaded"),
            is_current=pl.lit(True),
            covered_count=pl.col("household_size"),
            rows_in_file=pl.col("household_size"),
            monthly_benefit=fen_to_decimal_expr(pl.col("monthly_benefit_fen")),
        )  # fmt: skip
        .drop("case_key", "town", "monthly_benefit_fen", "town_code_right", strict=False)
    )
    members = typed.select(
        version_id=pl.col("case_key"), town_code=pl.col("town"), case_no=pl.col("case_no"),
        member_no=pl.int_range(1, pl.len() + 1).over("case_key").cast(pl.Int32), source_row=pl.col("source_row"),
        id_no=pl.col("id_no"), name=pl.col("name"), relation=pl.col("relation"), covered=pl.col("covered"),
        self_care=pl.col("self_care"), monthly_income=fen_to_decimal_expr(pl.col("monthly_income_fen")),
    )  # fmt: skip
    cols = [
        "version_id", "town_code", "case_no", "file_sha256", "seq", "ingested_on", "run_id", "is_baseline",
        "content_sha256", "acceptance", "is_current", "program", "status", "applied_on", "received_on",
        "visited_on", "decided_on", "publicity_from", "publicity_to", "decided_level", "monthly_benefit",
        "benefit_from", "account_no", "household_size", "covered_count", "rows_in_file",
    ]  # fmt: skip
    # each case's application, filed before its decision (so V16 does not trip)
    applications = versions.select(cols).with_columns(
        version_id=pl.col("version_id") + ":app", seq=-pl.col("seq"), ingested_on=pl.lit(date(2025, 2, 5)),
        status=pl.lit("pending"), is_current=pl.lit(False), decided_on=pl.lit(None, dtype=pl.Date),
    )  # fmt: skip
    with open_warehouse(home, flow="bench", ref=ref) as con:
        con.register("bv", pl.concat([versions.select(cols), applications]).to_arrow())
        con.execute("INSERT INTO core.case_versions BY NAME SELECT * FROM bv")
        con.register("bm", members.to_arrow())
        con.execute("INSERT INTO core.member_versions BY NAME SELECT * FROM bm")
    t = time.perf_counter()
    with open_warehouse(home, flow="bench", ref=ref) as con:
        found = recheck_versions(con, ref, scope="current", as_of=AS_OF, run_id="bench")
    print(
        f"validate --all (no GX) {time.perf_counter() - t:>10.1f} s   {found.summary()['findings_by_rule']}"
    )


if __name__ == "__main__":
    main()
