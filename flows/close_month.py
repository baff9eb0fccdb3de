"""Flow `close-month` (SPEC §5–6): bank returns, then the month's amounts owed,
batches, holds, arrears and recoveries, then one digest per town about new holds.

`close_month_flow.fn(...)` runs the same steps in this process without Prefect.
"""

from __future__ import annotations

from prefect import flow

from core.home import Home, parse_as_of, today_shanghai
from core.periods import parse_period, period_text, to_month
from flows.runtime import report_failure
from flows.steps import artifact, audited, home_of, log, reference, reference_digest, step
from notify.tell import held_cases, tell_close
from payments.bank import clear_b01_after_account_change, read_bank_returns
from payments.close import run_close
from publish.payments import close_markdown
from warehouse.connection import open_warehouse

FLOW = "close-month"


@step(retries=1, retry_delay_seconds=5)
def read_returns(home_root: str, as_of: str, run_id: str) -> dict:
    """The banks' return files read; B01 cleared where the account has changed since."""
    home = home_of(home_root)
    day = parse_as_of(as_of)
    with open_warehouse(home, flow=FLOW, ref=reference(home)) as con:
        return {"bank": read_bank_returns(home, con, as_of=day, run_id=run_id),
                "b01_cleared": clear_b01_after_account_change(con, as_of=day, run_id=run_id)}


@step(retries=1, retry_delay_seconds=5)
def close_period(home_root: str, period: str, as_of: str, run_id: str, notify: bool, cycle_id: str | None) -> dict:
    """The month's amounts owed, batches, holds and recoveries; the towns told of new holds."""
    home = home_of(home_root)
    ref, day, month = reference(home), parse_as_of(as_of), to_month(period)
    with open_warehouse(home, flow=FLOW, ref=ref) as con:
        prior_held = held_cases(con)
        summary = run_close(con, home, ref, period=month, as_of=day, run_id=run_id)
        if notify:
            summary["notified"] = tell_close(con, home, ref, run_id, month, prior_held, day, cycle_id)
    return summary


@flow(name="close-month", on_failure=[report_failure])
def close_month_flow(home: str | None = None, as_of: str | None = None, period: str | None = None,
                     notify: bool = True, cycle_id: str | None = None) -> dict:
    """Close one month (default: the current month, paid in advance)."""
    home = str(Home.resolve(home).require().root)
    day = parse_as_of(as_of) or today_shanghai()
    chosen = period or period_text(day)  # paid in advance: the current month
    parse_period(chosen)
    with audited(FLOW, home, day.isoformat(), {"period": chosen}, inputs=reference_digest,
                 apply_actions=True) as run:
        run.summary |= run(read_returns, home, day.isoformat(), run.run_id)
        run.summary |= run(close_period, home, chosen, day.isoformat(), run.run_id, notify, cycle_id)
    s = run.summary
    log().info("close %s: %s new lines in %s batches, total %s yuan; %s cases held; %s lines to recover", chosen,
               s["new_lines"], s["new_batches"], s["new_total"], s["held_cases"], s["recoveries"])
    artifact("markdown", key="close-month", markdown=close_markdown(chosen, s),
             description="Monthly close headline figures (no personal data)")
    return s
