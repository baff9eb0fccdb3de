"""Benchmark of the `report` flow at municipal scale (issue 7).

Builds a warehouse with N cases (default 1,000,000) and 12 months of history
(2025): a baseline caseload at go-live, new approvals, 停发/终止 exits,
re-decisions, rejected versions, payment batches of every month (~1 line per
active case per month), holds, findings and cross-checks — written straight
into the warehouse tables with DuckDB (the ingest itself is not what is
measured). Then times the report of December 2025: the marts of 12 months,
the official workbook, the public edition, report.html and the analyst copy
(analyst.duckdb + Parquet).

    .venv/bin/python bench/bench_report.py [--cases 1000000] [--home bench-data/report]
    .venv/bin/python bench/bench_report.py --cases 150000 --analyst-rebuilds [--reuse]

`--analyst-rebuilds` times the analyst copy alone three times (issue 18): built from nothing, rebuilt
with nothing changed, and rebuilt after one month changed (December's payment lines returned by
the bank: paid, a few failed), with wall and CPU seconds; the report itself is not timed then.

Prints the timings; never asserts them. Results go to docs/bench-report.md by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

from core.home import Home  # noqa: E402
from core.reference import load_reference  # noqa: E402
from warehouse.connection import open_warehouse  # noqa: E402
from warehouse.reference_load import load_reference_tables  # noqa: E402

TOWNS = [
    "500110001",
    "500110002",
    "500110003",
    "500110006",
    "500110007",
    "500110108",
    "500110109",
    "500110110",
    "500110111",
    "500110112",
    "500110113",
    "500110114",
    "500110115",
    "500110116",
    "500110117",
    "500110118",
    "500110119",
    "500110120",
    "500110121",
    "500110123",
    "500110124",
]

# One statement per step; $n is the number of cases. Pseudo-random choices come from hash(i, salt).
GENERATE = [
    # the cases: town, program, size, start (baseline or a 2025 month), exit month (or none), re-decision month
    """
    CREATE TEMP TABLE cases AS
    WITH base AS (
        SELECT i, hash(i, 'p') % 100 AS p, hash(i, 's') % 10 AS s, hash(i, 'n') % 100 AS n,
               hash(i, 'x') % 100 AS x, hash(i, 'r') % 100 AS r, hash(i, 'm') % 12 AS m1, hash(i, 'q') % 12 AS m2
        FROM range($n) t(i)
    )
    SELECT i,
           list_extract($towns, CAST(i % 21 AS INTEGER) + 1) AS town_code,
           'C' || lpad(CAST(i AS VARCHAR), 8, '0') AS case_no,
           CASE WHEN p < 55 THEN 'dibao_rural' WHEN p < 85 THEN 'dibao_urban'
                WHEN p < 97 THEN 'tekun_home' ELSE 'tekun_central' END AS program,
           CAST(CASE WHEN s < 3 THEN 1 WHEN s < 6 THEN 2 WHEN s < 9 THEN 3 ELSE 4 END AS INTEGER) AS size,
           n >= 10 AS baseline,
           CAST(DATE '2025-01-01' + to_months(CAST(m1 AS INTEGER)) AS DATE) AS start_month,
           CASE WHEN x < 8 THEN CAST(DATE '2025-01-01' + to_months(CAST(m2 AS INTEGER)) AS DATE) END AS exit_month,
           CASE WHEN r < 10 THEN CAST(DATE '2025-01-01' + to_months(CAST((m2 + 5) % 12 AS INTEGER)) AS DATE) END
               AS change_month,
           r >= 99 AS rejected_once
    FROM base
    """,
    """
    CREATE TEMP TABLE v AS
    SELECT c.*, k.kind,
           CASE k.kind
               WHEN 'first' THEN CASE WHEN c.baseline THEN DATE '2024-12-31'
                                      ELSE CAST(c.start_month - INTERVAL 1 MONTH AS DATE) + 14 END
               WHEN 'change' THEN CAST(c.change_month - INTERVAL 1 MONTH AS DATE) + 14
               WHEN 'exit' THEN CAST(c.exit_month - INTERVAL 1 MONTH AS DATE) + 14
               ELSE CAST(c.start_month - INTERVAL 1 MONTH AS DATE) + 4 END AS ingested_on
    FROM cases c
    JOIN (VALUES ('first'), ('change'), ('exit'), ('rejected')) k(kind)
      ON k.kind = 'first' OR (k.kind = 'change' AND c.change_month IS NOT NULL)
      OR (k.kind = 'exit' AND c.exit_month IS NOT NULL) OR (k.kind = 'rejected' AND c.rejected_once)
    """,
    """
    INSERT INTO core.case_versions BY NAME
    SELECT md5(i || kind) || md5(kind || i) || ':' || town_code || ':' || case_no AS version_id,
           town_code, case_no, md5(town_code || ingested_on) || md5(ingested_on || town_code) AS file_sha256,
           row_number() OVER (ORDER BY ingested_on, kind, i) AS seq, ingested_on, 'bench' AS run_id,
           baseline AND kind = 'first' AS is_baseline, md5(i || kind || 'c') AS content_sha256,
           CASE WHEN kind = 'rejected' THEN 'rejected' ELSE 'loaded' END AS acceptance,
           false AS is_current, kind = 'first' AS is_first_approval,
           CASE kind WHEN 'first' THEN CASE WHEN baseline THEN DATE '2024-06-01' ELSE start_month END
                     WHEN 'change' THEN change_month WHEN 'exit' THEN exit_month END AS effective_month,
           false AS held, '某村' AS village, program,
           CASE kind WHEN 'exit' THEN CASE WHEN i % 2 = 0 THEN 'suspended' ELSE 'terminated' END
                     ELSE 'approved' END AS status,
           ingested_on - 40 AS applied_on, ingested_on - 38 AS received_on, ingested_on - 20 AS visited_on,
           ingested_on - 15 AS reviewed_on, ingested_on - 5 AS decided_on, ingested_on - 4 AS publicity_from,
           ingested_on + 2 AS publicity_to, 'town' AS decided_level, '经办人' AS decided_by,
           CAST(size * (CASE WHEN program LIKE 'tekun%' THEN 1001 ELSE 420 END) + CASE WHEN kind = 'change'
               THEN 30 ELSE 0 END AS DECIMAL(12,2)) AS monthly_benefit,
           CASE WHEN baseline THEN DATE '2024-06-01' ELSE start_month END AS benefit_from,
           NULL AS rechecked_on, '农行' AS bank, '62220' || lpad(CAST(i AS VARCHAR), 14, '0') AS account_no,
           '户主' || i AS account_holder, false AS staff_relative, false AS complaint, false AS extended,
           false AS gradual_exit, NULL AS remark,
           size AS household_size, size AS covered_count, size AS rows_in_file
    FROM v
    """,
    """
    UPDATE core.case_versions SET is_current = true WHERE version_id IN (
        SELECT arg_max(version_id, seq) FROM core.case_versions WHERE acceptance = 'loaded'
        GROUP BY town_code, case_no)
    """,
    """
    INSERT INTO core.member_versions BY NAME
    SELECT v.version_id, v.town_code, v.case_no, CAST(k AS INTEGER) AS member_no, CAST(k + 2 AS INTEGER) AS source_row,
           '500110' || strftime(DATE '1950-01-01' + CAST(hash(v.version_id, k) % 20000 AS INTEGER), '%Y%m%d')
               || lpad(CAST(hash(v.case_no, k) % 1000 AS VARCHAR), 3, '0') || 'X' AS id_no,
           list_extract(['张', '李', '王', '刘', '陈', '杨', '欧阳'], CAST(hash(v.version_id) % 7 AS INTEGER) + 1)
               || '某' || k AS name,
           CASE WHEN k = 0 THEN 'head' ELSE 'child' END AS relation, true AS covered, DATE '1960-01-01' AS birth_date,
           'M' AS sex, '无' AS work_ability, CAST(100 AS DECIMAL(12,2)) AS monthly_income
    FROM core.case_versions v, range(v.household_size) r(k)
    """,
    # payments: a line per case and month it was active (start or baseline, until the exit month)
    """
    CREATE TEMP TABLE lines AS
    SELECT CAST(m.month AS DATE) AS month, c.town_code, c.case_no, c.program, c.size, c.i,
           CASE WHEN c.program LIKE 'tekun%' THEN c.town_code ELSE 'QJ' END AS payer
    FROM cases c
    JOIN (SELECT unnest(generate_series(DATE '2025-01-01', DATE '2025-12-01', INTERVAL 1 MONTH)) AS month) m
      ON (c.baseline OR c.start_month <= m.month) AND (c.exit_month IS NULL OR m.month < c.exit_month)
    """,
    """
    INSERT INTO pay.payments BY NAME
    SELECT strftime(month, '%Y%m') || '-' || payer || '-' || program || '-01' AS batch_no,
           CAST(row_number() OVER (PARTITION BY month, payer, program ORDER BY town_code, case_no) AS INTEGER)
               AS line_no,
           month AS period_owed, CASE WHEN hash(i, month) % 100 = 0 THEN 'arrears' ELSE 'monthly' END AS payment_type,
           town_code, case_no, program, '500110198001010' || lpad(CAST(i % 1000 AS VARCHAR), 3, '0') AS id_no,
           '户主' AS payee_name, '农行' AS bank, '62220' || lpad(CAST(i AS VARCHAR), 14, '0') AS account_no,
           '户主' AS account_holder,
           CAST(size * (CASE WHEN program LIKE 'tekun%' THEN 1001 ELSE 420 END) AS DECIMAL(12,2)) AS amount,
           size AS covered_count, 1 AS attempt,
           CASE WHEN hash(i, month, 'f') % 1000 = 0 THEN 'failed' ELSE 'exported' END AS status
    FROM lines
    """,
    """
    INSERT INTO pay.batches BY NAME
    SELECT batch_no, any_value(period_owed) AS period,
           CASE WHEN any_value(program) LIKE 'tekun%' THEN any_value(town_code) ELSE 'bureau' END AS payer,
           any_value(program) AS program, 'regular' AS kind, 1 AS supplement_no, count(*) AS count,
           sum(amount) AS total, md5(batch_no) AS sha256, 'exported' AS status, now() AS created_at, 'bench' AS run_id
    FROM pay.payments GROUP BY batch_no
    """,
    """
    INSERT INTO pay.closes BY NAME
    SELECT m AS period, 'bench' AS run_id, CAST(m AS DATE) + 24 AS as_of, now() AS closed_at,
           DATE '2025-01-01' AS go_live, 0 AS lines, 0 AS total, 0 AS held_cases, 0 AS recoveries
    FROM (SELECT CAST(unnest(generate_series(DATE '2025-01-01', DATE '2025-12-01', INTERVAL 1 MONTH)) AS DATE) m)
    """,
    """
    INSERT INTO pay.holds BY NAME
    SELECT month AS period, town_code, case_no, month AS period_owed, program,
           CAST(size * 420 AS DECIMAL(12,2)) AS amount, '公示期未满' AS reason
    FROM lines WHERE hash(i, month, 'h') % 200 = 0
    """,
    # findings: validation errors of the rejected versions, cross-check hits, overdue and time-limit warnings
    """
    INSERT INTO checks.findings (finding_id, rule_id, severity, blocks_payment, town_code, case_no, id_no,
        evidence_key, message, first_seen_run, last_seen_run, status, version_id, file_sha256, first_seen_on,
        status_changed_on, cleared_how)
    SELECT md5(version_id || r) || md5(r || version_id), r, CASE WHEN r IN ('V07', 'M02', 'X05') THEN 'warning'
           ELSE 'error' END, false, town_code, case_no, NULL,
           CASE WHEN r LIKE 'V%' THEN file_sha256 ELSE 'EV' || seq END,
           '案件' || case_no || '：问题说明', 'bench', 'bench',
           CASE WHEN hash(seq, r) % 3 = 0 THEN 'cleared' ELSE 'open' END, version_id, file_sha256, ingested_on,
           CASE WHEN hash(seq, r) % 3 = 0 THEN ingested_on + 20 END,
           CASE WHEN hash(seq, r) % 3 = 0 THEN 'auto' END
    FROM core.case_versions,
         (VALUES ('V09'), ('V05'), ('X02'), ('X04'), ('X05'), ('M02'), ('V07')) t(r)
    WHERE (acceptance = 'rejected' AND r IN ('V09', 'V05'))
       OR (acceptance = 'loaded' AND NOT is_baseline AND hash(seq, r) % 40 = 0 AND r NOT IN ('V09', 'V05'))
    """,
    """
    INSERT INTO checks.crosscheck_checks BY NAME
    SELECT ingested_on AS check_date, town_code, case_no, version_id, 'digest' AS registry_digest,
           'new_application' AS reason, 'bench' AS run_id, now() AS checked_at
    FROM core.case_versions WHERE NOT is_baseline AND is_first_approval
    """,
    """
    INSERT INTO checks.crosscheck_hits BY NAME
    SELECT c.check_date, c.town_code, c.case_no, f.finding_id, f.rule_id, f.severity, 'bench' AS source,
           'ev' AS evidence, f.message, 'bench' AS run_id
    FROM checks.crosscheck_checks c JOIN checks.findings f
      ON f.version_id = c.version_id AND f.rule_id LIKE 'X%'
    """,
]


def build_home(root: Path, cases: int) -> Home:
    if root.exists():
        shutil.rmtree(root)
    home = Home(root).ensure()
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="bench", ref=ref) as con:
        load_reference_tables(con, ref)
        for statement in GENERATE:
            con.execute(statement, {"n": cases, "towns": TOWNS} if "$" in statement else None)
        con.execute("CHECKPOINT")
    return home


# one month changed: the bank returns December's lines, a fiftieth of them failed
BANK_RETURN = """
UPDATE pay.payments
SET status = CASE WHEN hash(batch_no, line_no) % 50 = 0 THEN 'failed' ELSE 'paid' END,
    status_changed_at = TIMESTAMPTZ '2026-01-06 10:00:00+08'
WHERE batch_no IN (SELECT batch_no FROM pay.batches WHERE period = DATE '2025-12-01') AND status = 'exported'
"""

BEFORE_RETURN = """
UPDATE pay.payments SET status = 'exported', status_changed_at = NULL
WHERE batch_no IN (SELECT batch_no FROM pay.batches WHERE period = DATE '2025-12-01') AND status IN ('paid', 'failed')
"""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process, DuckDB's included
    return usage.ru_utime + usage.ru_stime


def time_analyst_rebuilds(home: Home, ref) -> None:
    """The analyst copy from nothing, again unchanged, and after one month changed."""
    from publish.analyst import build_analyst_copy
    from warehouse.mart import build_marts

    with open_warehouse(home, flow="bench", ref=ref) as con:
        if not con.execute("SELECT count(*) FROM mart.monthly_statistics").fetchall()[0][0]:
            build_marts(con, ref, "2025-01", "2025-12")
        con.execute(BEFORE_RETURN)  # December as the close left it, so that a rerun measures the same

    def build(label: str) -> None:
        wall, cpu = time.perf_counter(), _cpu()
        with open_warehouse(home, flow="bench", read_only=True, ref=ref) as con:
            summary = build_analyst_copy(con, home, period="2025-12")
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        print(
            f"  {label:<34} {wall:6.1f} s wall {cpu:6.1f} s CPU   tables copied {summary.get('tables_copied', '-')}, "
            f"kept {summary.get('tables_kept', '-')}; analyst.duckdb {home.analyst.stat().st_size / 1e6:.0f} MB"
        )

    home.analyst.unlink(missing_ok=True)
    build("from nothing")
    build("nothing changed")
    with open_warehouse(home, flow="bench", ref=ref) as con:
        con.execute(BANK_RETURN)
    build("one month changed (bank return)")
    build("nothing changed, again")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--home", default=str(REPO / "bench-data" / "report"))
    parser.add_argument("--reuse", action="store_true", help="reuse a warehouse built by an earlier run")
    parser.add_argument("--analyst-rebuilds", action="store_true",
                        help="time only the analyst copy: from nothing, unchanged, one month changed")
    args = parser.parse_args()
    root = Path(args.home)
    t0 = time.perf_counter()
    home = (
        Home(root)
        if args.reuse and (root / "warehouse" / "jiuzhu.duckdb").exists()
        else build_home(root, args.cases)
    )
    built = time.perf_counter() - t0
    if args.analyst_rebuilds:
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"duckdb {duckdb.__version__}, python {platform.python_version()}; load {os.getloadavg()[0]:.1f}"
        )
        with open_warehouse(home, flow="bench", read_only=True) as con:
            counts = {
                t: con.table(t).aggregate("count(*)").fetchall()[0][0]
                for t in ("core.case_versions", "core.member_versions", "pay.payments", "checks.findings")
            }
        print(f"warehouse built in {built:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        time_analyst_rebuilds(home, load_reference(home.reference))
        return

    from publish.analyst import build_analyst_copy
    from publish.monthly_report import publish_reports, refresh_marts
    from warehouse.audit import finish_run, start_run

    ref = load_reference(home.reference)
    as_of = date(2026, 1, 5)
    timings: dict[str, float] = {}
    with open_warehouse(home, flow="bench", ref=ref) as con:
        counts = {
            t: con.table(t).aggregate("count(*)").fetchall()[0][0]
            for t in ("core.case_versions", "core.member_versions", "pay.payments", "checks.findings")
        }
        t = time.perf_counter()
        run_id = start_run(con, "report", as_of, None, {"period": "2025-12"})
        marts = refresh_marts(con, ref, "2025-12", as_of)
        timings["marts (12 months + budget)"] = time.perf_counter() - t
    t = time.perf_counter()
    reports = publish_reports(home, ref, "2025-12", as_of)
    timings["official + public + html"] = time.perf_counter() - t
    t = time.perf_counter()
    with open_warehouse(home, flow="bench", read_only=True, ref=ref) as con:
        analyst = build_analyst_copy(con, home, period="2025-12")
    timings["analyst copy (duckdb + parquet)"] = time.perf_counter() - t
    with open_warehouse(home, flow="bench", ref=ref) as con:
        finish_run(con, run_id, "completed", {"bench": True})
    total = sum(timings.values())
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"duckdb {duckdb.__version__}, python {platform.python_version()}"
    )
    print(f"warehouse built in {built:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"mart rows: {marts}")
    print(
        f"public edition: {reports['suppressed_primary']} primary, {reports['suppressed_complementary']} "
        f"complementary cells hidden"
    )
    print(
        f"analyst copy: {analyst['tables']} tables, {analyst['rows']:,} rows; "
        f"analyst.duckdb {Path(analyst['path']).stat().st_size / 1e6:.0f} MB, parquet "
        f"{sum(p.stat().st_size for p in Path(analyst['parquet_dir']).glob('*.parquet')) / 1e6:.0f} MB"
    )
    for name, seconds in timings.items():
        print(f"  {name:<34} {seconds:6.1f} s")
    print(f"  {'report total':<34} {total:6.1f} s   (goal: under 30 s)")


if __name__ == "__main__":
    main()
