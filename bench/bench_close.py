"""Benchmark: closing a month for N cases, bank files included (issue 6 goal:
1,000,000 cases under 30 s on 2 cores).

The warehouse is filled directly with SQL (N approved single-person or
two-person dibao/tekun cases across the 21 towns), so the timing is the close
alone: in-force versions, amounts with uprating, holds, batches, the CSV and
XLSX bank files and manifests.

    .venv/bin/python bench/bench_close.py --cases 1000000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from core.home import Home
from core.reference import load_reference
from payments.close import run_close
from warehouse.connection import open_warehouse

FILL = """
INSERT INTO core.case_versions (version_id, town_code, case_no, file_sha256, seq, ingested_on, run_id, is_baseline,
    content_sha256, acceptance, is_current, is_first_approval, effective_month, held, program, status, decided_on,
    publicity_from, publicity_to, decided_level, monthly_benefit, benefit_from, bank, account_no, account_holder,
    household_size, covered_count, rows_in_file)
SELECT 'v' || i, t.code, 'C' || i, 'bench', i, DATE '2025-03-25', 'bench', false, 'x', 'loaded', true, true,
       DATE '2025-04-01', false,
       CASE WHEN i % 5 = 0 THEN 'tekun_home' WHEN t.kind = '街道' THEN 'dibao_urban' ELSE 'dibao_rural' END,
       'approved', DATE '2025-03-20', DATE '2025-03-21', DATE '2025-03-27', 'town', 450 + (i % 300), DATE '2025-04-01',
       '重庆农村商业银行', lpad(CAST(6222020000000000 + i AS VARCHAR), 16, '0'), '户主' || i,
       1 + (i % 2), 1 + (i % 2), 1 + (i % 2)
FROM range(1, $n + 1) r(i)
JOIN (SELECT code, kind, row_number() OVER (ORDER BY code) - 1 AS k FROM ref.towns) t ON t.k = i % 21
"""
MEMBERS = """
INSERT INTO core.member_versions (version_id, town_code, case_no, member_no, source_row, id_no, name, relation,
    covered, monthly_income)
SELECT v.version_id, v.town_code, v.case_no, m, m, lpad(CAST(v.seq * 2 + m AS VARCHAR), 18, '5'), '姓名',
       CASE WHEN m = 1 THEN 'head' ELSE 'spouse' END, true, 0
FROM core.case_versions v, range(1, 3) r(m)
WHERE m <= v.household_size
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-close-"))
    home = Home(root).ensure()
    ref = load_reference()
    from warehouse.reference_load import load_reference_tables

    t0 = time.perf_counter()
    with open_warehouse(home, flow="bench", ref=ref) as con:
        load_reference_tables(con, ref)
        con.execute(FILL, {"n": args.cases})
        con.execute(MEMBERS)
        members = con.execute("SELECT count(*) FROM core.member_versions").fetchall()[0][0]
    setup = time.perf_counter() - t0
    t1 = time.perf_counter()
    with open_warehouse(home, flow="bench", ref=ref) as con:
        summary = run_close(con, home, ref, period=date(2025, 4, 1), as_of=date(2025, 4, 1), run_id="bench")
    close = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    files = sum(p.stat().st_size for p in (home.out / "payments").rglob("*") if p.is_file())
    print(f"cases                {args.cases:>12,}")
    print(f"member rows          {members:>12,}")
    print(f"setup (SQL fill)     {setup:>12.1f} s")
    print(f"close-month          {close:>12.1f} s")
    print(f"lines / batches      {summary['new_lines']:>12,} / {summary['new_batches']}")
    print(f"total                {summary['new_total']:>15} yuan")
    print(f"bank files           {files / 1e6:>12.1f} MB")
    print(f"peak RSS             {peak:>12.0f} MiB")
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
