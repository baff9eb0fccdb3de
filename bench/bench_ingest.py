"""Benchmark: one month of full submissions from the 21 towns at municipal
scale (issue 3 goal: 1,000,000 households / about 2.2M member rows, one file per
town, CSV under 45 s on 2 cores), validation seam and receipts included.

Files are generated vectorised (valid IDs, entitlements computed by
transforms.entitlement so the V-rules pass), then ingested with
intake.pipeline.ingest_file exactly as the flow does, without Prefect.

    .venv/bin/python bench/bench_ingest.py --households 1000000 --format csv
    .venv/bin/python bench/bench_ingest.py --households 200000 --format xlsx
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from core.home import SHANGHAI, Home
from core.reference import load_reference
from intake.discover import discover
from intake.pipeline import IngestSettings, ingest_file
from publish.files import write_workbook
from transforms.entitlement import case_entitlement
from transforms.identifiers import id_check_char_expr, luhn_check_digit_expr
from warehouse import ingest_load
from warehouse.connection import open_warehouse

HEADERS = {
    "case_no": "案件编号", "town_code": "镇街代码", "program": "救助类别", "status": "案件状态",
    "applied_on": "申请日期", "received_on": "受理日期", "visited_on": "入户调查日期", "decided_on": "审批日期",
    "publicity_from": "公示开始日期", "publicity_to": "公示结束日期", "decided_level": "审批层级",
    "monthly_benefit": "月保障金额", "benefit_from": "起始发放月份", "bank": "开户银行", "account_no": "银行账号",
    "account_holder": "开户人", "name": "姓名", "id_no": "身份证号", "relation": "与户主关系", "covered": "是否保障对象",
    "monthly_income": "月收入", "self_care": "自理能力",
}


def make_rows(households: int, ref, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    towns = ref["towns"]
    size = rng.choice([1, 2, 3, 4], size=households, p=[0.3, 0.3, 0.25, 0.15])
    town_ix = rng.integers(0, towns.height, households)
    cases = pl.DataFrame({
        "case_id": np.arange(households), "size": size, "town_code": towns["code"].to_numpy()[town_ix],
        "kind": towns["kind"].to_numpy()[town_ix],
    }).with_columns(program=pl.when(pl.col("kind") == "街道").then(pl.lit("dibao_urban")).otherwise(
        pl.lit("dibao_rural")))
    members = cases.select("case_id", "size").with_columns(m=pl.int_ranges(0, pl.col("size"))).explode("m")
    n = members.height
    birth_year = rng.integers(1940, 2015, n)
    members = members.with_columns(
        birth=pl.Series(birth_year).cast(pl.String) + "0101",
        seq=(pl.int_range(0, n) % 999 + 1).cast(pl.String).str.zfill(3),
        block=(pl.int_range(0, n) // 999).cast(pl.String).str.zfill(6),
        income_fen=pl.Series(rng.choice([0, 0, 10000, 20000], n)),
        covered=pl.lit(True),
    )
    # unique IDs: the address code carries the block, birth dates vary, sequence within the block
    members = members.with_columns(first17=pl.lit("5") + pl.col("block").str.slice(1, 5) + pl.col("birth")
                                   + pl.col("seq"))
    members = members.with_columns(id_no=pl.col("first17") + id_check_char_expr(pl.col("first17")))
    ent = case_entitlement(
        cases.with_columns(standard_month=pl.lit(date(2025, 9, 1)), age_on=pl.lit(date(2025, 9, 20))),
        members.select(
            "case_id", "covered", pl.col("income_fen").alias("monthly_income_fen"),
            pl.col("birth").str.to_date("%Y%m%d").alias("birth_date"),
            pl.lit(None, pl.String).alias("disability_type"), pl.lit(None, pl.Int64).alias("disability_grade"),
            pl.lit(False).alias("serious_illness"), pl.lit(None, pl.String).alias("schooling"),
            pl.lit(None, pl.String).alias("self_care"),
        ),
        ref.tables,
    ).select("case_id", "entitlement_fen")
    labels = {"dibao_urban": "城市低保", "dibao_rural": "农村低保"}
    payload = (pl.lit("62220") + pl.col("case_id").cast(pl.String).str.zfill(13))
    rows = (
        members.join(cases, on="case_id").join(ent, on="case_id")
        .with_columns(account_no=payload + luhn_check_digit_expr(payload))
        .select(
            pl.format("QJ-{}", pl.col("case_id")).alias("case_no"), "town_code",
            pl.col("program").replace_strict(labels).alias("program"), pl.lit("批准").alias("status"),
            pl.lit("2025-08-20").alias("applied_on"), pl.lit("2025-08-25").alias("received_on"),
            pl.lit("2025-09-01").alias("visited_on"), pl.lit("2025-09-20").alias("decided_on"),
            pl.lit("2025-09-21").alias("publicity_from"), pl.lit("2025-09-27").alias("publicity_to"),
            pl.lit("镇街").alias("decided_level"),
            (pl.col("entitlement_fen") / 100).round(2).cast(pl.String).alias("monthly_benefit"),
            pl.lit("2025-10").alias("benefit_from"), pl.lit("重庆农村商业银行").alias("bank"), "account_no",
            pl.lit("户主").alias("account_holder"), pl.lit("张三").alias("name"), "id_no",
            pl.when(pl.col("m") == 0).then(pl.lit("户主")).otherwise(pl.lit("子女")).alias("relation"),
            pl.lit("是").alias("covered"), (pl.col("income_fen") / 100).cast(pl.String).alias("monthly_income"),
            pl.lit(None, pl.String).alias("self_care"),
        )
    )
    return rows.rename(HEADERS)


class BareInsert:
    """Beside each file's load: the same Arrow tables (raw rows, case and member versions, findings)
    inserted with a bare INSERT ... SELECT into copies of the four tables without keys, in a new
    database file, in one transaction, then a checkpoint. What the load costs beyond moving the data."""

    TABLES = {"raw_rows": "raw.submission_rows", "versions": "core.case_versions",
              "members": "core.member_versions", "findings": "checks.findings"}
    INSERTS = {  # the bare INSERT ... SELECT of each, written out
        "raw_rows": "INSERT INTO raw_rows BY NAME SELECT * FROM frame",
        "versions": "INSERT INTO versions BY NAME SELECT * FROM frame",
        "members": "INSERT INTO members BY NAME SELECT * FROM frame",
        "findings": "INSERT INTO findings BY NAME SELECT * FROM frame",
    }

    def __init__(self, path: Path) -> None:
        self.path = path
        self.insert = self.commit = self.checkpoint = self.load = self.seconds = 0.0
        self.con: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def beside(self, warehouse: duckdb.DuckDBPyConnection):
        self.con = duckdb.connect(str(self.path))
        for name, table in self.TABLES.items():  # the warehouse's column types, no constraints
            self.con.from_arrow(warehouse.table(table).limit(0).arrow()).create(name)
        real = ingest_load.load_file

        def load_file(con, **kw):
            t = time.perf_counter()
            real(con, **kw)
            self.load += time.perf_counter() - t
            self.copy(kw)

        ingest_load.load_file = load_file
        try:
            yield self
        finally:
            ingest_load.load_file = real
            self.con.close()

    def copy(self, kw: dict) -> None:
        started = time.perf_counter()
        frames = {"raw_rows": kw["raw_rows"], "versions": kw["versions"], "members": kw["members"],
                  "findings": kw["record_findings"].keywords["findings"]}
        self.con.execute("BEGIN TRANSACTION")
        t = time.perf_counter()
        for name, frame in frames.items():
            if frame is not None and frame.height:
                self.con.register("frame", frame.to_arrow())
                self.con.execute(self.INSERTS[name])
                self.con.unregister("frame")
        self.insert += time.perf_counter() - t
        t = time.perf_counter()
        self.con.execute("COMMIT")
        self.commit += time.perf_counter() - t
        t = time.perf_counter()
        self.con.execute("CHECKPOINT")
        self.checkpoint += time.perf_counter() - t
        self.seconds += time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--no-bare", dest="bare", action="store_false",
                        help="skip the bare INSERT ... SELECT of each file's tables beside the load")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    home = Home(root).ensure()
    ref = load_reference()
    t0 = time.perf_counter()
    rows = make_rows(args.households, ref)
    when = datetime(2025, 10, 5, 9, tzinfo=SHANGHAI).timestamp()
    for (town,), part in rows.group_by("镇街代码"):
        folder = home.inbox / town
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"台账.{args.format}"
        if args.format == "csv":
            part.write_csv(path)
        else:
            write_workbook(path, {"台账": part})
        os.utime(path, (when, when))
    gen = time.perf_counter() - t0
    found = discover(home, frozenset(ref.town_codes), date(2025, 10, 5))
    bare = BareInsert(root / "bare.duckdb") if args.bare else None
    t1 = time.perf_counter()
    totals = {"rows_read": 0, "rows_accepted": 0, "rows_rejected": 0}
    steps: dict[str, float] = {}
    with (open_warehouse(home, flow="bench", ref=ref) as con, bare.beside(con) if bare else nullcontext(),
          ingest_load.deferred_checkpoints(con) as checkpoints):  # as flows/ingest.py does
        for c in found.candidates:
            o = ingest_file(con, home, ref, c, IngestSettings(date(2025, 10, 5), "bench"))
            checkpoints.loaded(o.rows_read)
            for k in totals:
                totals[k] += getattr(o, k)
            for step, seconds in o.seconds.items():
                steps[step] = steps.get(step, 0.0) + seconds
    ingest = time.perf_counter() - t1 - (bare.seconds if bare else 0.0)
    if bare:  # the bare copy ran inside the load step's timer
        steps["load"] = steps.get("load", 0.0) - bare.seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"households           {args.households:>12,}")
    print(f"member rows          {rows.height:>12,}  in {len(found.candidates)} {args.format} files")
    print(f"generate files       {gen:>12.1f} s")
    print(f"ingest (incl. V-rules, load, returns) {ingest:>7.1f} s")
    print(f"rows read/accepted/rejected  {totals['rows_read']:,} / {totals['rows_accepted']:,} / "
          f"{totals['rows_rejected']:,}")
    print("per step (s):        " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    print(f"ingest without the V-rules {ingest - steps.get('validate', 0.0):>8.1f} s")
    if bare:
        print(f"load step {steps.get('load', 0.0):.1f} s (load_file alone {bare.load:.1f} s) vs bare INSERT ... "
              f"SELECT of the same Arrow tables {bare.insert:.1f} s + COMMIT {bare.commit:.1f} s + CHECKPOINT "
              f"{bare.checkpoint:.1f} s (unconstrained copies of the four tables in a new file; not in the "
              "ingest time above)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"peak RSS             {peak:>12.0f} MiB")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
