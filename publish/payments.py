"""Bank files, manifests, 暂停发放 and 应追回 (SPEC §6 Payment batches).

Rendering is deterministic: the same lines give the same bytes, so a batch's
files can be rebuilt from the warehouse after a crash and still match the
SHA-256 recorded for it.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.files import atomic_file, atomic_target
from core.home import Home
from publish.files import render_workbook, write_json, write_workbook
from publish.returns import WORKER_ROWS, core_idle, render_here, render_worker, stop_or_wait

BANK_COLUMNS = ["序号", "镇街", "户主姓名", "身份证号", "开户银行", "账号", "开户人", "金额", "类别", "所属期", "批次号", "备注"]
TYPE_REMARKS = {"monthly": "月度发放", "arrears": "补发", "one_off": "一次性发放"}


def payments_dir(home: Home, period: str) -> Path:
    return home.out / "payments" / period


def bank_frame(lines: pl.DataFrame, town_names: dict[str, str], program_labels: dict[str, str]) -> pl.DataFrame:
    """lines: line_no, town_code, payee_name, id_no, bank, account_no, account_holder, amount (Decimal),
    program, period_owed (Date), batch_no, payment_type, occasion."""
    return lines.sort("line_no").select(
        pl.col("line_no").alias("序号"),
        pl.col("town_code").replace_strict(town_names, default=pl.col("town_code")).alias("镇街"),
        pl.col("payee_name").alias("户主姓名"),
        pl.col("id_no").alias("身份证号"),
        pl.col("bank").alias("开户银行"),
        pl.col("account_no").alias("账号"),
        pl.col("account_holder").alias("开户人"),
        pl.col("amount").alias("金额"),
        pl.col("program").replace_strict(program_labels, default=pl.col("program")).alias("类别"),
        pl.col("period_owed").dt.strftime("%Y-%m").alias("所属期"),
        pl.col("batch_no").alias("批次号"),
        pl.coalesce(pl.col("occasion"), pl.col("payment_type").replace_strict(TYPE_REMARKS, default=""))
        .alias("备注"),
    )


def bank_csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with BOM (Excel opens it), CRLF, every value quoted as text; amounts keep two decimals."""
    text = frame.with_columns(pl.all().cast(pl.String)).write_csv(quote_style="always", line_terminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def csv_sha256(frame: pl.DataFrame) -> str:
    return hashlib.sha256(bank_csv_bytes(frame)).hexdigest()


BANK_SHEET = "发放明细"


@dataclass
class PendingBatchFiles:
    """A batch's files on their way: the CSV written, the workbook rendered into a temporary file (here
    or by the worker process), the manifest (what says the batch's files are all there) written last,
    by `finish`."""

    manifest: dict
    manifest_path: Path
    workbook: Path
    staged: Path
    frame: pl.DataFrame
    job: Future | None = None

    def finish(self) -> dict:
        if render_here(self.job):
            render_workbook(self.staged, {BANK_SHEET: self.frame})
        os.replace(self.staged, self.workbook)
        write_json(self.manifest_path, self.manifest)
        return self.manifest

    def abandon(self) -> None:
        stop_or_wait(self.job)
        self.staged.unlink(missing_ok=True)


def start_batch_files(home: Home, period: str, batch: dict, frame: pl.DataFrame, data: bytes | None = None,
                      *, in_worker: bool = False) -> PendingBatchFiles:
    """Write <batch_no>.csv and start its .xlsx (`in_worker`: a long sheet goes to the worker process
    when a core is idle); `finish` puts the workbook in place and writes .manifest.json.
    `data` is the CSV already rendered (its SHA-256 is the batch's)."""
    folder = payments_dir(home, period)
    data = bank_csv_bytes(frame) if data is None else data
    with atomic_file(folder / f"{batch['batch_no']}.csv") as tmp:
        tmp.write_bytes(data)
    workbook = folder / f"{batch['batch_no']}.xlsx"
    manifest = {
        "batch_no": batch["batch_no"],
        "period": period,
        "payer": batch["payer"],
        "program": batch["program"],
        "count": batch["count"],
        "total": f"{batch['total']:.2f}",
        "sha256": hashlib.sha256(data).hexdigest(),
        "created_at": batch["created_at"].isoformat(),
    }
    pending = PendingBatchFiles(manifest, folder / f"{batch['batch_no']}.manifest.json", workbook,
                                atomic_target(workbook), frame)
    if in_worker and frame.height > WORKER_ROWS and core_idle():
        try:
            pending.job = render_worker().submit(render_workbook, pending.staged, {BANK_SHEET: frame})
        except Exception:  # noqa: BLE001 - no worker process to be had: rendered here, in finish
            pending.job = None
    return pending


def write_holds(home: Home, period: str, holds: pl.DataFrame) -> Path:
    return write_workbook(payments_dir(home, period) / "暂停发放.xlsx", {"暂停发放": holds})


def write_recoveries(home: Home, period: str, recoveries: pl.DataFrame) -> Path:
    return write_workbook(payments_dir(home, period) / "应追回.xlsx", {"应追回": recoveries})


def close_markdown(period: str, summary: dict) -> str:
    """A close's headline figures as the Prefect artifact shows them (counts and yuan, no personal data)."""
    return (f"# 月度发放 {period}\n\n| 项目 | 数值 |\n|---|---|\n| 新增批次 | {summary['new_batches']} |\n"
            f"| 新增发放笔数 | {summary['new_lines']} |\n| 其中补发 | {summary['arrears_lines']} |\n"
            f"| 新增金额（元） | {summary['new_total']} |\n| 暂停发放户数 | {summary['held_cases']} |\n"
            f"| 应追回笔数 | {summary['recoveries']} |\n")
