"""Benchmark: the whole cycle through Prefect, at district and municipal scale
(issue 9 goal on 2 cores: the municipal cycle — 1,000,000 households, registry
extracts of 30,000,000 rows — under 3 minutes and 12 GiB, Prefect's own
overhead reported apart; stage goals inside it: ingest 45 s without the
V-rules, V-rules 20 s, registry load 30 s, cross-check within 3x the bare
join, close 30 s, report 30 s).

Data, in a fresh home (a temporary one, or --home), generated in a child
process so that its memory does not count towards the cycle's peak:

  submissions   bench_ingest.make_rows: N households (~2.2 members each), one
                file per town, inbox/<town>/台账.csv (or .xlsx), modified
                2025-10-05 09:00 Asia/Shanghai
  registries    the eight sources of intake.registries.SOURCES as Parquet,
                registries/<source>/2025-10-20.parquet with exactly the source's
                columns, R rows in all split by the shares of
                bench_crosscheck.SOURCES; 1-4 per thousand rows carry a
                submitted 身份证号, the rest IDs of R/2 other residents
                (bench_crosscheck.person_ids); written by DuckDB COPY from an
                in-memory connection

Then, in this process:

  Prefect server start   a trivial flow, which starts Prefect's temporary API server
  cycle                  the month as the district lives it, two runs of flows.cycle.cycle_flow:
                         as of 2025-10-25 (the close day): ingest, validate (GX Data Docs),
                         crosscheck, close-month 2025-10, notify; then as of 2025-11-03
                         (nothing new to read): validate, the nightly crosscheck again, sample
                         and report of 2025-10, notify. Times are summed over both runs.
  stages                 Prefect's own task-run records of the cycle's flow runs (read
                         through its client), summed per stage; Prefect overhead = cycle
                         wall time - all task-run time (flow bodies outside tasks included)
  V-rules                the ingest run's summary in audit.runs, "seconds" -> "validate"
                         (n/a when the ingest does not record it)
  bare join              count(*) of core.member_versions IDs joined to the UNION ALL of
                         the eight registry tables' IDs, read-only connection, best of 2
  peak memory            getrusage of this process and of its reaped children (the data
                         generator), and the Prefect server child's VmHWM

Timings are printed, never asserted. The machine is shared: the load average is
printed at the start and the end.

    .venv/bin/python bench/bench_cycle.py --scale district
    .venv/bin/python bench/bench_cycle.py --scale municipal
    .venv/bin/python bench/bench_cycle.py --households 100000 --registry-rows 3000000 --home /tmp/cyc
    .venv/bin/python bench/bench_cycle.py --scale municipal --parse-workers 2   # parse on a local Dask cluster
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from bench_crosscheck import REGISTRY_IDS, person_ids
from bench_crosscheck import SOURCES as SHARES
from bench_ingest import make_rows

from core.home import SHANGHAI, Home
from core.reference import SHIPPED, load_reference
from flows.runtime import configure_environment
from intake.registries import SOURCES
from publish.files import write_workbook
from transforms.identifiers import id_check_char_expr

SCALES = {"district": (25_000, 750_000), "municipal": (1_000_000, 30_000_000)}
CYCLES = ("2025-10-25", "2025-11-03")  # the close day of 2025-10, then the first cycle after the month
FIRST_CYCLE_FLOWS = ("ingest", "validate", "crosscheck", "close-month")  # their work is in the first cycle
EXTRACT_DATE = "2025-10-20"  # arrived before the close day
SUBMITTED = datetime(2025, 10, 5, 9, tzinfo=SHANGHAI)
GIB = 1024**3
# --scenario ordinary: a day after the go-live month (issue 18): every town re-sends its whole ledger,
# 3% of the cases changed and 0.5% new applications; one cycle as of that day
ORDINARY_DAY = datetime(2025, 11, 5, 9, tzinfo=SHANGHAI)
CHANGED_PER_100, NEW_PER_1000 = 3, 5
# issue 18's targets: the worst month (go-live, every row warned) and an ordinary day's cycle
WORST_MONTH_GOAL, WORST_MONTH_BAR, ORDINARY_DAY_GOAL = 60.0, 120.0, 20.0
# each stage's goal (issue 9; issue 18 set the totals above), seconds; None: no goal of its own
STAGE_GOALS = {"ingest": 45.0, "validate (GX Data Docs)": None, "registry load": 30.0, "cross-check": None,
               "close": 30.0, "sample": None, "report": 30.0, "notify": None}

# one SELECT per source over `pick` (k, id_no): exactly the columns of intake.registries.SOURCES
COLUMNS = {
    "deaths": "id_no, '某' AS name, DATE '2024-01-01' + CAST(k % 500 AS INTEGER) AS died_on",
    "vehicles": "id_no, '渝A' || lpad(CAST(k AS VARCHAR), 7, '0') AS plate, '小型轿车' AS vehicle_type, "
    "DATE '2015-01-01' + CAST(k % 3000 AS INTEGER) AS registered_on, "
    "CASE k % 10 WHEN 0 THEN '注销' WHEN 1 THEN '报废' ELSE '正常' END AS status, "
    "CASE WHEN k % 50 = 0 THEN '是' ELSE '否' END AS disability_vehicle",
    "real_estate": "id_no, 'P' || CAST(k AS VARCHAR) AS property_id, "
    "CASE WHEN k % 20 = 0 THEN '商业' WHEN k % 7 = 0 THEN '其他' ELSE '住宅' END AS use, "
    "CAST(40 + k % 120 + 0.5 AS DECIMAL(12,2)) AS area_m2, "
    "DATE '2010-01-01' + CAST(k % 5000 AS INTEGER) AS registered_on",
    "business": "id_no, '91500110' || lpad(CAST(k AS VARCHAR), 10, '0') AS uscc, "
    "CASE k % 3 WHEN 0 THEN '法定代表人' WHEN 1 THEN '股东' ELSE '其他' END AS role, "
    "CASE WHEN k % 4 = 0 THEN '注销' ELSE '存续' END AS status, "
    "CAST(1000000 AS DECIMAL(18,2)) AS registered_capital",
    "social_insurance": "id_no, CASE k % 3 WHEN 0 THEN '养老金' WHEN 1 THEN '在职参保' ELSE '失业金' END AS kind, "
    "CAST(300 + k % 3000 AS DECIMAL(12,2)) AS monthly_amount, '2025-09' AS period",
    "provident_fund": "id_no, CAST(500 AS DECIMAL(12,2)) AS monthly_contribution, "
    "CASE WHEN k % 3 = 0 THEN '封存' ELSE '缴存' END AS status",
    "public_payroll": "id_no, '綦江区人民医院' AS employer, DATE '2015-03-01' AS since",
    "deposits": "id_no, '农行' AS institution, CAST(1000 + (k * 37) % 40000 AS DECIMAL(14,2)) AS balance, "
    "DATE '2025-09-30' AS as_of",
}

# (flow, task) -> stage; "*" matches every task of the flow
STAGES = {
    ("ingest", "*"): "ingest",
    ("ingest-parse", "*"): "ingest",  # the parse-ahead subflow (parse_workers > 0; not used here)
    ("validate", "*"): "validate (GX Data Docs)",
    ("crosscheck", "load-extracts"): "registry load",
    ("crosscheck", "check"): "cross-check",
    ("crosscheck", "*"): "cross-check reports/notify/audit",
    ("close-month", "*"): "close",
    ("sample", "*"): "sample",
    ("report", "*"): "report",
    ("cycle", "send-queued-notices"): "notify",
    ("cycle", "*"): "cycle (other tasks)",
}
STAGE_ORDER = [
    "ingest", "validate (GX Data Docs)", "registry load", "cross-check", "cross-check reports/notify/audit",
    "close", "sample", "report", "notify", "cycle (other tasks)", "unmapped",
]


def stage_of(flow_name: str, task_name: str) -> str:
    return STAGES.get((flow_name, task_name)) or STAGES.get((flow_name, "*")) or "unmapped"


# ------------------------------------------------------------------ data (run in a child process)


def write_submissions(home: Home, households: int, fmt: str) -> pl.Series:
    """One file per town in the inbox; returns the submitted ID numbers."""
    rows = make_rows(households, load_reference())
    when = SUBMITTED.timestamp()
    for (town,), part in rows.group_by("镇街代码"):
        folder = home.inbox / town
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"台账.{fmt}"
        if fmt == "csv":
            part.write_csv(path)
        else:
            write_workbook(path, {"台账": part})
        os.utime(path, (when, when))
    print(f"submissions: {rows.height:,} member rows of {households:,} households in "
          f"{rows['镇街代码'].n_unique()} {fmt} files", flush=True)
    return rows["身份证号"]


def write_ordinary_day(home: Home, households: int, fmt: str) -> None:
    """The ordinary day after go-live: each town's whole ledger again, arriving ORDINARY_DAY, as
    台账-20251105.<fmt>. 3 in 100 cases changed (another bank: a new version, no new V-rule), and 5 in
    1,000 households more as new applications (已受理, not yet decided), with IDs and case numbers
    nobody holds yet."""
    ref = load_reference()
    rows = make_rows(households, ref)
    case_id = pl.col("案件编号").str.slice(3).cast(pl.Int64)
    rows = rows.with_columns(
        pl.when(case_id % 100 < CHANGED_PER_100).then(pl.lit("中国农业银行")).otherwise(pl.col("开户银行"))
        .alias("开户银行"))
    new = make_rows(households * NEW_PER_1000 // 1000, ref, seed=11)
    first17 = pl.lit("6") + pl.col("身份证号").str.slice(1, 16)  # area codes no submitted ID has
    undecided = ["审批日期", "公示开始日期", "公示结束日期", "审批层级", "月保障金额", "起始发放月份", "入户调查日期"]
    new = new.with_columns(
        pl.format("QJ-{}", case_id + households).alias("案件编号"),
        (first17 + id_check_char_expr(first17)).alias("身份证号"),
        pl.lit("已受理").alias("案件状态"), pl.lit("2025-11-01").alias("申请日期"),
        pl.lit("2025-11-03").alias("受理日期"), *[pl.lit(None, pl.String).alias(c) for c in undecided],
    )
    when = ORDINARY_DAY.timestamp()
    for (town,), part in pl.concat([rows, new]).group_by("镇街代码", maintain_order=True):
        path = home.inbox / town / f"台账-{ORDINARY_DAY:%Y%m%d}.{fmt}"
        if fmt == "csv":
            part.write_csv(path)
        else:
            write_workbook(path, {"台账": part})
        os.utime(path, (when, when))
    changed = rows.filter(case_id % 100 < CHANGED_PER_100)["案件编号"].n_unique()
    print(f"ordinary day {ORDINARY_DAY:%Y-%m-%d}: {rows.height + new.height:,} member rows re-sent, {changed:,} "
          f"cases changed, {new['案件编号'].n_unique():,} new applications", flush=True)


def write_registries(home: Home, submitted: pl.Series, rows: int, residents: int) -> dict[str, int]:
    """The eight extracts as Parquet, vectorised in an in-memory DuckDB; returns rows per source."""
    sub = pl.DataFrame({"id_no": submitted.unique(maintain_order=True)}).with_row_index("k")
    # residents who are not recipients (bench_ingest and person_ids may mint the same ID now and then);
    # orders kept, so that the same arguments give the same files
    people = (
        person_ids(residents).select("id_no")
        .join(sub.select("id_no"), on="id_no", how="anti", maintain_order="left")
        .with_row_index("k")
    )
    con = duckdb.connect()
    con.register("sub_frame", sub.to_arrow())
    con.register("people_frame", people.to_arrow())
    con.execute("CREATE TABLE sub_ids AS SELECT CAST(k AS BIGINT) AS k, id_no FROM sub_frame")
    con.execute("CREATE TABLE residents AS SELECT CAST(k AS BIGINT) AS k, id_no FROM people_frame")
    con.unregister("sub_frame")
    con.unregister("people_frame")
    n_sub, n_res = sub.height, people.height
    del sub, people
    written = {}
    for source, (share, per_mille) in SHARES.items():
        n = int(rows * share)
        folder = home.registries / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{EXTRACT_DATE}.parquet"
        con.execute(
            f"""
            COPY (
                WITH r AS (SELECT i, hash(i, '{source}') % 1000 < {per_mille} AS hit FROM range({n}) t(i)),
                pick AS (
                    SELECT r.i AS k, s.id_no FROM r JOIN sub_ids s ON s.k = CAST(hash(r.i, 'r') % {n_sub} AS BIGINT)
                    WHERE r.hit
                    UNION ALL
                    SELECT r.i AS k, p.id_no FROM r JOIN residents p
                        ON p.k = CAST(hash(r.i, 'p') % {n_res} AS BIGINT)
                    WHERE NOT r.hit
                )
                SELECT {COLUMNS[source]} FROM pick
            ) TO '{path}' (FORMAT parquet)
            """
        )
        got = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0]
        names = [d[0] for d in con.execute("SELECT * FROM read_parquet(?) LIMIT 0", [str(path)]).description]
        if names != list(SOURCES[source]):
            raise SystemExit(f"{source}: columns {names} differ from intake.registries.SOURCES")
        written[source] = got
    con.close()
    return written


REPRODUCIBLE_SEED = "5eed" * 16  # the spot check's test seed under --reproducible
REPRODUCIBLE_KEY = "a11a" * 16  # the analyst copy's pseudonym key under --reproducible


def make_reproducible(home: Home) -> None:
    """Fix the two things a run draws at random (the spot check's seed, the analyst copy's key), so
    that two runs on the same data give the same tables and files (scripts/compare_outputs.py)."""
    from publish.analyst import analyst_key_path
    from publish.spotcheck import TEST_SEED_SETTING

    settings = pl.read_csv(SHIPPED / "settings.csv", infer_schema=False)
    settings = settings.with_columns(
        pl.when(pl.col("key") == TEST_SEED_SETTING).then(pl.lit(REPRODUCIBLE_SEED)).otherwise(pl.col("value"))
        .alias("value"))
    home.reference.mkdir(parents=True, exist_ok=True)
    settings.write_csv(home.reference / "settings.csv")
    key = analyst_key_path(home)
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text(REPRODUCIBLE_KEY + "\n", encoding="ascii")
    key.chmod(0o600)


def generate(root: Path, households: int, registry_rows: int, residents: int, fmt: str,
             reproducible: bool = False, scenario: str = "worst") -> None:
    home = Home(root).ensure()
    if reproducible:
        make_reproducible(home)
    t = time.perf_counter()
    submitted = write_submissions(home, households, fmt)
    if scenario == "ordinary":
        write_ordinary_day(home, households, fmt)
    t_sub = time.perf_counter() - t
    t = time.perf_counter()
    written = write_registries(home, submitted, registry_rows, residents)
    t_reg = time.perf_counter() - t
    print(f"registries: {sum(written.values()):,} rows ({', '.join(f'{s} {n:,}' for s, n in written.items())})")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"generation: submissions {t_sub:.1f} s, registries {t_reg:.1f} s, peak RSS {rss:,.0f} MiB", flush=True)


# ------------------------------------------------------------------ the cycle and Prefect's records


def task_runs_of(client, root_id) -> tuple[list, list]:
    """Every flow run under the cycle's flow run (breadth first) and their task runs, minus subflow wrappers."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId

    flows = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[root_id])))
    frontier = [root_id]
    while frontier:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier))
        )
        flows += children
        frontier = [c.id for c in children]
    wrappers = {f.parent_task_run_id for f in flows if f.parent_task_run_id}
    tasks = []
    ids = [f.id for f in flows]
    offset = 0
    while True:
        page = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=200, offset=offset
        )
        tasks += page
        offset += len(page)
        if len(page) < 200:
            break
    return flows, [t for t in tasks if t.id not in wrappers]


def seconds_of(run) -> float:
    if run.total_run_time and run.total_run_time.total_seconds() > 0:
        return run.total_run_time.total_seconds()
    if run.start_time and run.end_time:
        return (run.end_time - run.start_time).total_seconds()
    return 0.0


def prefect_records(root_id, expected_min: int) -> tuple[list, list, dict]:
    """Flow and task runs of the cycle; waits (up to 60 s) until Prefect has recorded them all as finished
    (its state events are written asynchronously)."""
    from prefect.client.orchestration import get_client

    deadline = time.perf_counter() + 60
    with get_client(sync_client=True) as client:
        while True:
            flows, tasks = task_runs_of(client, root_id)
            done = all(t.end_time is not None for t in tasks) and all(f.end_time is not None for f in flows)
            if (done and len(tasks) >= expected_min) or time.perf_counter() > deadline:
                break
            time.sleep(2)
        names = {f.flow_id: client.read_flow(f.flow_id).name for f in flows}
    return flows, tasks, names


def task_name(run) -> str:
    """Prefect names task runs '<task name>-<3 characters of the dynamic key>'."""
    return run.name.rsplit("-", 1)[0] if "-" in run.name else run.name


def run_cycle(root: Path, parse_workers: int, days: tuple[str, ...] = CYCLES) -> dict:
    from prefect import flow

    t = time.perf_counter()
    from flows.cycle import cycle_flow

    out = {"import": time.perf_counter() - t}

    @flow(name="bench-cycle-start")
    def start_server() -> int:
        return 1

    t = time.perf_counter()
    start_server()
    out["server"] = time.perf_counter() - t

    out["began"] = datetime.now(UTC)
    out |= {"wall": 0.0, "cpu": 0.0, "states": [], "results": [], "flow_run_ids": []}
    out["walls"] = []
    for as_of in days:
        t, c = time.perf_counter(), time.process_time()
        state = cycle_flow(home=str(root), as_of=as_of, parse_workers=parse_workers, return_state=True)
        out["walls"].append(time.perf_counter() - t)
        out["wall"] += out["walls"][-1]
        out["cpu"] += time.process_time() - c
        out["states"].append(state)
        out["results"].append(state.result(raise_on_failure=False))
        out["flow_run_ids"].append(state.state_details.flow_run_id)
    return out


# ------------------------------------------------------------------ warehouse: summaries and the bare join


def summaries(con) -> dict[str, dict]:
    """The audit.runs summary of each flow: of the first cycle for the flows whose work is done there
    (ingest, validate, crosscheck, close), else of the last (sample and report of the closed month)."""
    rows = con.execute("SELECT flow, status, summary_json FROM audit.runs ORDER BY started_at").fetchall()
    out: dict[str, dict] = {}
    for f, s, j in rows:
        if f not in out or f not in FIRST_CYCLE_FLOWS:
            out[f] = {"status": s, **(json.loads(j) if j else {})}
    return out


COUNT_REGISTRY_ROWS = "SELECT count(*) FROM (" + REGISTRY_IDS + ")"
BARE_JOIN = "SELECT count(*) FROM core.member_versions m JOIN (" + REGISTRY_IDS + ") r ON r.id_no = m.id_no"


def bare_join(con) -> tuple[float, int, int, int]:
    members = con.execute("SELECT count(*) FROM core.member_versions").fetchall()[0][0]
    registry_rows = con.execute(COUNT_REGISTRY_ROWS).fetchall()[0][0]
    times, matches = [], 0
    for _ in range(2):
        t = time.perf_counter()
        matches = con.execute(BARE_JOIN).fetchall()[0][0]
        times.append(time.perf_counter() - t)
    return min(times), members, registry_rows, matches


def child_peaks() -> list[tuple[int, str, int]]:
    """(pid, command, VmHWM KiB) of this process's live children (the Prefect server)."""
    pids: set[int] = set()
    for task_dir in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids |= {int(p) for p in (task_dir / "children").read_text().split()}
        except OSError:
            continue
    found = []
    for pid in sorted(pids):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
        found.append((pid, cmd[:80], hwm))
    return found


def stage_seconds(flow_run_ids: list) -> tuple:
    """Prefect's records of some cycle runs: flows, tasks, flow name by run, seconds per stage, per
    (flow, task) and per flow."""
    flows, tasks, flow_names = [], [], {}
    for root_id in flow_run_ids:
        f, t, n = prefect_records(root_id, expected_min=1)
        flows, tasks, flow_names = flows + f, tasks + t, flow_names | n
    flow_of = {f.id: flow_names[f.flow_id] for f in flows}
    per_stage: dict[str, float] = defaultdict(float)
    per_task: dict[tuple[str, str], list[float]] = defaultdict(list)
    per_flow_tasks: dict[str, float] = defaultdict(float)
    for tr in tasks:
        fname, tname = flow_of.get(tr.flow_run_id, "?"), task_name(tr)
        secs = seconds_of(tr)
        per_stage[stage_of(fname, tname)] += secs
        per_task[(fname, tname)].append(secs)
        per_flow_tasks[fname] += secs
    return flows, tasks, flow_of, per_stage, per_task, per_flow_tasks


def goal_of(stage: str) -> str:
    goal = STAGE_GOALS.get(stage)
    return "—" if goal is None else f"{goal:.0f} s"


def print_ordinary(ordinary: dict, summary: dict) -> None:
    """The ordinary day's stages and its cycle time beside issue 18's 20 s."""
    _, _, _, per_stage, _, _ = stage_seconds(ordinary["flow_run_ids"])
    wall = ordinary["wall"]
    secs = summary.get("seconds") if isinstance(summary.get("seconds"), dict) else {}
    print(f"\nordinary day {ORDINARY_DAY:%Y-%m-%d} (whole ledgers re-sent, {CHANGED_PER_100}% of cases changed, "
          f"{NEW_PER_1000 / 10}% new applications):")
    print(f"  ingest: rows read {num(summary, 'rows_read')}, accepted {num(summary, 'rows_accepted')}, rejected "
          f"{num(summary, 'rows_rejected')}, warned {num(summary, 'rows_warned')}; seconds "
          + ", ".join(f"{k} {v:.1f}" for k, v in secs.items()))
    print("\n| stage (ordinary day) | seconds |")
    print("|---|---:|")
    for stage in STAGE_ORDER:
        if stage in per_stage:
            print(f"| {stage} | {per_stage[stage]:.1f} |")
    overhead = wall - sum(per_stage.values())
    print(f"| Prefect overhead (cycle wall - task runs) | {overhead:.1f} |")
    print(f"| **the ordinary day's cycle (wall)** | **{wall:.1f}** (goal {ORDINARY_DAY_GOAL:.0f} s: "
          f"{met(wall <= ORDINARY_DAY_GOAL)}) |")
    print(f"load average {load()}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def num(summary: dict, key: str) -> str:
    value = summary.get(key)
    return f"{value:,}" if isinstance(value, int) else ("n/a" if value is None else str(value))


def fmt_s(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"


def met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="district")
    parser.add_argument("--households", type=int, default=None, help="override the scale's households")
    parser.add_argument("--registry-rows", type=int, default=None, help="override the scale's registry rows")
    parser.add_argument("--residents", type=int, default=None,
                        help="people in the registries besides recipients (default: registry rows / 2)")
    parser.add_argument("--home", type=Path, default=None, help="keep the bench home here (default: a temp dir)")
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--parse-workers", type=int, default=0,
                        help="parse the files on a local Dask cluster of N processes (default: in the writer)")
    parser.add_argument("--reproducible", action="store_true",
                        help="fixed spot-check seed and analyst key, for scripts/compare_outputs.py")
    parser.add_argument("--scenario", choices=["worst", "ordinary"], default="worst",
                        help="worst: the go-live month alone (every row warned); ordinary: then one ordinary day "
                        "(whole ledgers re-sent, 3%% of cases changed, 0.5%% new applications), timed apart")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    households = args.households or SCALES[args.scale][0]
    registry_rows = args.registry_rows or SCALES[args.scale][1]
    residents = args.residents or registry_rows // 2

    if args.generate_only:  # the child process
        generate(args.home, households, registry_rows, residents, args.format, args.reproducible, args.scenario)
        return

    configure_environment()  # Prefect's environment defaults, before Prefect is imported
    root = args.home or Path(tempfile.mkdtemp(prefix="bench-cycle-"))
    if root.exists():
        shutil.rmtree(root)
    root = root.resolve()
    home = Home(root).ensure()
    print(f"bench_cycle: {households:,} households, {registry_rows:,} registry rows ({residents:,} residents), "
          f"{args.format}, parse workers {args.parse_workers}; home {root}")
    print(f"started {datetime.now(SHANGHAI):%Y-%m-%d %H:%M %Z}, load average {load()}", flush=True)

    t = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--generate-only", "--home", str(root), "--households", str(households),
         "--registry-rows", str(registry_rows), "--residents", str(residents), "--format", args.format,
         "--scenario", args.scenario, *(["--reproducible"] if args.reproducible else [])],
        check=True,
    )
    rss_generator = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"generation (child process, not part of the cycle): {time.perf_counter() - t:.1f} s", flush=True)

    print(f"cycle starting, load average {load()}", flush=True)
    cyc = run_cycle(root, args.parse_workers)
    for as_of, state, result in zip(CYCLES, cyc["states"], cyc["results"], strict=True):
        steps = result.get("steps") if isinstance(result, dict) else getattr(state, "message", None)
        completed = isinstance(result, dict) and all(v == "COMPLETED" for v in result.get("steps", {}).values())
        print(f"\ncycle {as_of}: state {state.type.value}; steps {steps}; all steps completed: {completed}")
        if not completed and not isinstance(result, dict):
            print(f"cycle result: {result!r}")
    print(f"load average after the cycles {load()}", flush=True)

    ordinary = None
    if args.scenario == "ordinary":
        print(f"\nordinary day starting, load average {load()}", flush=True)
        ordinary = run_cycle(root, args.parse_workers, days=(f"{ORDINARY_DAY:%Y-%m-%d}",))
        print(f"ordinary day {ORDINARY_DAY:%Y-%m-%d}: state {ordinary['states'][0].type.value}; "
              f"{ordinary['results'][0]!r:.300}; load average after it {load()}", flush=True)

    flows, tasks, flow_of, per_stage, per_task, per_flow_tasks = stage_seconds(cyc["flow_run_ids"])
    task_total = sum(per_stage.values())
    overhead = cyc["wall"] - task_total

    con = duckdb.connect(str(home.warehouse), read_only=True)
    runs = summaries(con)
    bare, members, registry_stored, matches = bare_join(con)
    findings = con.execute(
        "SELECT count(*) FROM checks.findings WHERE rule_id LIKE 'X%' OR rule_id LIKE 'M%'"
    ).fetchall()[0][0]
    con.close()

    ingest = runs.get("ingest", {})
    secs = ingest.get("seconds") if isinstance(ingest.get("seconds"), dict) else None
    vrules = secs.get("validate") if secs else None
    ingest_s = per_stage.get("ingest", 0.0)
    ingest_wo = ingest_s - vrules if vrules is not None else None
    xc = runs.get("crosscheck", {})
    close = runs.get("close-month", {})
    sample = runs.get("sample", {}).get("sample", {}) or {}
    report = runs.get("report", {})
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    live_children = child_peaks()

    print("\nPrefect task runs of both cycles (flow / task: runs, seconds summed):")
    for (fname, tname), values in sorted(per_task.items()):
        print(f"  {fname:<12} {tname:<28} {len(values):>3} x  {sum(values):8.2f} s  -> {stage_of(fname, tname)}")
    print("\nflow runs (wall s, in start order; tasks: the seconds of all runs of that flow in tasks):")
    for f in sorted(flows, key=lambda f: f.start_time or cyc["began"]):
        name = flow_of[f.id]
        print(f"  {name:<12} {seconds_of(f):8.2f} s  tasks {per_flow_tasks.get(name, 0.0):8.2f} s  "
              f"{f.state_type.value if f.state_type else '?'}")
    if secs:
        print("\ningest seconds (audit.runs summary, summed over files): "
              + ", ".join(f"{k} {v:.1f}" for k, v in secs.items()))
    else:
        print("\ningest seconds (audit.runs summary): n/a (the ingest summary has no 'seconds')")

    print(f"\n| stage | seconds | goal | (load average {load()}) |")
    print("|---|---:|---:|---|")
    for stage in STAGE_ORDER:
        if stage in per_stage:
            goal = STAGE_GOALS.get(stage)
            print(f"| {stage} | {per_stage[stage]:.1f} | {goal_of(stage)} | "
                  f"{'' if goal is None else met(per_stage[stage] <= goal)} |")
    print(f"| all task runs | {task_total:.1f} | | |")
    print(f"| **the worst month (wall of both cycles)** | **{cyc['wall']:.1f}** | {WORST_MONTH_GOAL:.0f} s goal / "
          f"{WORST_MONTH_BAR:.0f} s bar (issue 18) | goal {met(cyc['wall'] <= WORST_MONTH_GOAL)}, "
          f"bar {met(cyc['wall'] <= WORST_MONTH_BAR)} |")
    print(f"| Prefect overhead (cycle wall - task runs) | {overhead:.1f} |")
    print(f"| Prefect server start (apart) | {cyc['server']:.1f} |")
    print(f"| import prefect + flows (apart) | {cyc['import']:.1f} |")

    xcheck = per_stage.get("cross-check")
    ratio = xcheck / bare if xcheck is not None and bare > 0 else None
    server_rss = max((h * 1024 for _, _, h in live_children), default=0)
    peak = max(rss_self, server_rss)
    print("\n| stage | seconds | goal | met? |")
    print("|---|---:|---|---|")
    print(f"| ingest without V-rules | {fmt_s(ingest_wo)} | 45 s | {met(None if ingest_wo is None else ingest_wo <= 45)} |")
    print(f"| ingest with V-rules (whole ingest flow's tasks) | {ingest_s:.1f} | — | — |")
    print(f"| V-rules | {fmt_s(vrules)} | 20 s | {met(None if vrules is None else vrules <= 20)} |")
    print(f"| registry load | {fmt_s(per_stage.get('registry load'))} | 30 s "
          f"| {met(per_stage.get('registry load', 0) <= 30)} |")
    print(f"| cross-check | {fmt_s(xcheck)} ({fmt_s(ratio)}x bare join {bare:.2f} s) | ≤ 3x bare join "
          f"| {met(None if ratio is None else ratio <= 3)} |")
    print(f"| close | {fmt_s(per_stage.get('close'))} | 30 s | {met(per_stage.get('close', 0) <= 30)} |")
    print(f"| report | {fmt_s(per_stage.get('report'))} | 30 s | {met(per_stage.get('report', 0) <= 30)} |")
    print(f"| whole cycle (wall of both runs; server start apart) | {cyc['wall']:.1f} | 180 s "
          f"| {met(cyc['wall'] <= 180)} |")
    print(f"| Prefect overhead (in the cycle) | {overhead:.1f} | reported apart | — |")
    print(f"| Prefect server start | {cyc['server']:.1f} | reported apart | — |")
    print(f"| peak memory (cycle process; Prefect server child {server_rss / GIB:.2f} GiB) "
          f"| {rss_self / GIB:.2f} GiB | 12 GiB | {met(peak <= 12 * GIB)} |")

    print("\ncounts:")
    print(f"  ingest: files {num(ingest, 'files_new')}, rows read {num(ingest, 'rows_read')}, "
          f"accepted {num(ingest, 'rows_accepted')}, rejected {num(ingest, 'rows_rejected')}, "
          f"warned {num(ingest, 'rows_warned')} ({ingest.get('status', 'n/a')})")
    print(f"  crosscheck: extracts loaded {num(xc, 'extracts_loaded')}, registry rows loaded "
          f"{num(xc, 'registry_rows_loaded')}, invalid IDs {num(xc, 'registry_invalid_ids')}, "
          f"new findings {num(xc, 'new')}, hits by rule {xc.get('hits_by_rule', 'n/a')} "
          f"({xc.get('status', 'n/a')})")
    print(f"  close {close.get('period', 'n/a')}: payment lines {num(close, 'new_lines')}, batches "
          f"{num(close, 'new_batches')}, total {close.get('new_total', 'n/a')} yuan, held cases "
          f"{num(close, 'held_cases')}, recoveries {num(close, 'recoveries')} ({close.get('status', 'n/a')})")
    print(f"  sample: population {num(sample, 'population')}, selected {num(sample, 'selected')} "
          f"({runs.get('sample', {}).get('status', 'n/a')}); report: {report.get('status', 'n/a')}; "
          f"validate: {runs.get('validate', {}).get('status', 'n/a')}")
    print(f"  warehouse: {members:,} member versions, {registry_stored:,} registry rows stored, "
          f"{matches:,} ID matches in the bare join, {findings:,} X/M findings")
    statuses = ", ".join(f"{k} {v['status']}" for k, v in sorted(runs.items()))
    print(f"  audit.runs statuses: {statuses}")

    print("\nmemory:")
    print(f"  this process (cycle, bare join) max RSS {rss_self / 2**20:,.0f} MiB")
    print(f"  reaped children after generation (the generator) max RSS {rss_generator / 2**20:,.0f} MiB")
    print(f"  reaped children at the end max RSS {rss_children / 2**20:,.0f} MiB (includes short subprocesses "
          f"forked from this process, e.g. git in code_version(): a fork counts the parent's pages)")
    for pid, cmd, hwm in live_children:
        print(f"  live child {pid} ({cmd}) VmHWM {hwm / 1024:,.0f} MiB")
    print(f"cycle CPU time of this process {cyc['cpu']:.1f} s (all threads; the Prefect server child not "
          f"included)")
    if ordinary is not None:
        with duckdb.connect(str(home.warehouse), read_only=True) as con:
            last = con.execute("SELECT summary_json FROM audit.runs WHERE flow = 'ingest' ORDER BY started_at DESC "
                               "LIMIT 1").fetchall()
        print_ordinary(ordinary, json.loads(last[0][0]) if last and last[0][0] else {})
    print(f"finished {datetime.now(SHANGHAI):%Y-%m-%d %H:%M %Z}, load average {load()}")
    if args.home is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
