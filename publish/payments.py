"""Bank files, manifests, 暂停发放 and 应追回 (SPEC §6 Payment batches).

Rendering is deterministic: the same lines give the same bytes, so a batch's
files can be rebuilt from the warehouse after a crash and still match the
SHA-256 recorded for it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from core.files import atomic_file
from core.home import Home
from publish.files import write_json, write_workbook

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


def write_batch_files(home: Home, period: str, batch: dict, frame: pl.DataFrame, data: bytes | None = None) -> dict:
    """Writes <batch_no>.csv, .xlsx and .manifest.json; returns the manifest.
    `data` is the CSV already rendered (its SHA-256 is the batch's)."""
    folder = payments_dir(home, period)
    data = bank_csv_bytes(frame) if data is None else data
    csv_path = folder / f"{batch['batch_no']}.csv"
    with atomic_file(csv_path) as tmp:
        tmp.write_bytes(data)
    write_workbook(folder / f"{batch['batch_no']}.xlsx", {"发放明细": frame})
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
    write_json(folder / f"{batch['batch_no']}.manifest.json", manifest)
    return manifest


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
