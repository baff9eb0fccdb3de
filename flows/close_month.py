"""Flow `close-month` (SPEC §5–6): bank returns, then the month's amounts owed,
batches, holds, arrears and recoveries, then one digest per town about new holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from core.home import Home, parse_as_of, today_shanghai
from core.periods import parse_period
from core.reference import load_reference
from flows.officer_actions import apply_queued_actions
from flows.runtime import report_failure
from notify.digest import DigestItem
from notify.queue import notify_or_queue, open_counts_by_tag
from payments.bank import clear_b01_after_account_change, read_bank_returns
from payments.close import run_close
from warehouse.audit import inputs_digest, recorded_run
from warehouse.connection import open_warehouse


def default_period(as_of: date) -> date:
    """close-month pays in advance: the current month."""
    return as_of.replace(day=1)


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def close_period(home_root: str, period: str, as_of: str, notify: bool, cycle_id: str | None = None) -> dict:
    home = Home(Path(home_root)).require()
    ref = load_reference(home.reference)
    y, m = parse_period(period)
    day = parse_as_of(as_of)
    with open_warehouse(home, flow="close-month", ref=ref) as con:
        apply_queued_actions(con, home, ref)  # officers' actions queued while a flow held the warehouse
        prior_held = {tuple(r) for r in con.execute("SELECT DISTINCT town_code, case_no FROM pay.holds").fetchall()}
        with recorded_run(con, "close-month", day, inputs_digest([ref.fingerprint()]), {"period": period}) as (
            run_id, summary,
        ):
            summary["bank"] = read_bank_returns(home, con, as_of=day, run_id=run_id)
            summary["b01_cleared"] = clear_b01_after_account_change(con, as_of=day, run_id=run_id)
            summary.update(run_close(con, home, ref, period=date(y, m, 1), as_of=day, run_id=run_id))
            if notify:
                items = new_hold_items(con, date(y, m, 1), prior_held)
                summary["notified"] = notify_or_queue(con, home, ref, run_id, items, open_counts_by_tag(con),
                                                      "月度发放", day, cycle_id, "close-month")
    return summary


def new_hold_items(con, period: date, prior_held: set) -> dict[str, list[DigestItem]]:
    """Digest items: cases held for the first time, and lines to recover."""
    holds = con.execute(
        "SELECT town_code, case_no, min(period_owed), any_value(reason), count(*) FROM pay.holds WHERE period = ? "
        "GROUP BY town_code, case_no ORDER BY 1, 2", [period]).fetchall()
    recover = con.execute(
        "SELECT town_code, case_no, count(*), any_value(reason) FROM pay.recoveries WHERE period = ? "
        "GROUP BY ALL ORDER BY 1, 2", [period]).fetchall()
    items: dict[str, list[DigestItem]] = {}
    for town, case, first, reason, n in holds:
        if (town, case) not in prior_held:
            items.setdefault(town, []).append(
                DigestItem("hold", "HOLD", case, f"自{first:%Y-%m}起暂停发放{n}个月：{reason}", count=n))
    for town, case, n, reason in recover:
        items.setdefault(town, []).append(DigestItem("hold", "RECOVER", case, f"{reason}（{n}笔）", count=n))
    return items


@flow(name="close-month", on_failure=[report_failure])
def close_month_flow(home: str | None = None, as_of: str | None = None, period: str | None = None,
                     notify: bool = True, cycle_id: str | None = None) -> dict:
    """Close one month (default: the current month, paid in advance)."""
    home = str(Home.resolve(home).require().root)
    day = parse_as_of(as_of) or today_shanghai()
    chosen = period or f"{default_period(day):%Y-%m}"
    parse_period(chosen)
    summary = close_period(home, chosen, day.isoformat(), notify, cycle_id)
    get_run_logger().info(
        "close %s: %s new lines in %s batches, total %s yuan; %s cases held; %s lines to recover",
        chosen, summary["new_lines"], summary["new_batches"], summary["new_total"], summary["held_cases"],
        summary["recoveries"],
    )
    create_markdown_artifact(
        key="close-month",
        markdown=(f"# 月度发放 {chosen}\n\n| 项目 | 数值 |\n|---|---|\n| 新增批次 | {summary['new_batches']} |\n"
                  f"| 新增发放笔数 | {summary['new_lines']} |\n| 其中补发 | {summary['arrears_lines']} |\n"
                  f"| 新增金额（元） | {summary['new_total']} |\n| 暂停发放户数 | {summary['held_cases']} |\n"
                  f"| 应追回笔数 | {summary['recoveries']} |\n"),
        description="Monthly close headline figures (no personal data)",
    )
    return summary
