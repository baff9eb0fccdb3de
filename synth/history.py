"""The year of town activity: applications, decisions, re-checks, exits (SPEC §2, §5).

Three steps, all vectorised over cases:

1. `plan_cases` draws each case's town, program and first-decision timeline:
   the go-live caseload (approved 2019–2024 by the district) or an
   application of the replayed year (received a few days before a submission
   day, decided strictly after that day and within the working-day limit,
   filed on the first submission day on or after the decision — a few late).
   It also plans 停发/终止 events.
2. `build_events` adds periodic re-checks (dibao, within 12 months or 6 with
   a member able to work), tekun annual reviews, resumptions, gradual exits.
3. `versions_and_rows` turns events into case versions (every submission
   carries all member rows, household fields repeated) and computes each
   approved version's monthly_benefit with `transforms.entitlement` at the
   decision month, so clean versions pass V09 to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from core.reference import Reference
from synth.households import _uniform_int
from synth.timeframe import DayCal, TimeFrame, add_months_days, month_start_days, to_days
from transforms.entitlement import case_entitlement, month_constants

DECISION_EVENTS = (
    "baseline",
    "approve",
    "deny",
    "void",
    "recheck",
    "suspend",
    "resume",
    "terminate",
    "old_decision",
)
APPROVED_EVENTS = ("baseline", "approve", "recheck", "resume", "annual", "old_decision")
STATUS_OF_EVENT = {
    "baseline": "批准",
    "approve": "批准",
    "deny": "不予批准",
    "void": "作废",
    "recheck": "批准",
    "annual": "批准",
    "suspend": "停发",
    "resume": "批准",
    "terminate": "终止",
    "old_decision": "批准",
}
EARLIEST_BASELINE = date(2019, 9, 2)  # the 2019-07 standards are the oldest shipped
BASELINE_YEARS = ((2019, 0.08), (2020, 0.11), (2021, 0.15), (2022, 0.18), (2023, 0.21), (2024, 0.27))
DENY_REMARKS = (
    "经入户调查家庭收入超过标准",
    "家庭财产状况不符合条件",
    "申请人主动撤回申请",
    "经民主评议不符合条件",
)
SUSPEND_REMARKS = ("外出务工未按期复核，暂停发放", "未按期参加复核，暂停发放", "家庭情况待核实，暂停发放")
BASE_REMARKS = (
    "因病致贫",
    "因残致贫",
    "缺乏劳动力",
    "独居老人",
    "单亲家庭",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
)


def _days(d) -> int:
    return to_days(d)


def _sub_on_or_after(subs: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, day) of the first submission day on or after each day."""
    i = np.searchsorted(subs, day, side="left")
    i = np.minimum(i, len(subs) - 1)
    return i, subs[i]


def _date_col(values: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(np.asarray(values).astype(np.int64)).cast(pl.Int32).cast(pl.Date)
    if valid is not None:
        s = pl.select(pl.when(pl.Series(valid)).then(s).otherwise(None)).to_series()
    return s


def plan_cases(rng: np.random.Generator, n: int, tf: TimeFrame, cal: DayCal, ref: Reference) -> pl.DataFrame:
    """Town, program and first-decision timeline of every case (day numbers)."""
    towns = ref["towns"].sort("code")
    codes = towns["code"].to_numpy()
    kinds = towns["kind"].to_numpy()
    w = np.where(kinds == "街道", 1.35, 1.0) * rng.uniform(0.7, 1.3, len(codes))
    w[codes == "500110001"] *= 1.6
    w[codes == "500110002"] *= 1.3
    town_idx = rng.choice(len(codes), size=n, p=w / w.sum())
    kind = kinds[town_idx]
    street = kind == "街道"
    tekun = rng.random(n) < 0.17
    central = tekun & (rng.random(n) < 0.15)
    urban = ~tekun & np.where(street, rng.random(n) < 0.92, rng.random(n) < 0.12)
    program = np.where(
        tekun, np.where(central, "tekun_central", "tekun_home"), np.where(urban, "dibao_urban", "dibao_rural")
    )
    family = np.where(tekun, "tekun", "dibao")
    extended = ~tekun & (rng.random(n) < 0.05)
    on = tf.go_live
    limit = np.where(
        tekun,
        ref.time_limit("decision_tekun", on),
        np.where(
            extended, ref.time_limit("decision_dibao_extended", on), ref.time_limit("decision_dibao", on)
        ),
    ).astype(np.int64)
    baseline = rng.random(n) < 0.78
    subs = tf.sub_array()
    n_now = tf.n_sub
    as_of = _days(tf.as_of)
    base_day = _days(tf.baseline_as_of)

    # ---- go-live caseload: approved 2019–2024 under district authority
    years = np.array([y for y, _ in BASELINE_YEARS])
    yp = np.array([p for _, p in BASELINE_YEARS])
    y = years[rng.choice(len(years), size=n, p=yp / yp.sum())]
    jan1 = np.array([_days(date(int(v), 1, 1)) for v in years])
    y_start = jan1[np.searchsorted(years, y)]
    b_dec = np.minimum(y_start + rng.integers(0, 365, n), base_day - 12)
    b_dec = np.maximum(b_dec, _days(EARLIEST_BASELINE))
    b_dec = cal.prev_workday(b_dec)
    b_k = _uniform_int(rng, np.full(n, 6), limit - 2)
    b_rec = cal.add_wd(b_dec, -b_k)

    # ---- applications of the replayed year
    i0 = rng.integers(0, n_now, n)
    s0 = subs[i0]
    n_rec = cal.prev_workday(s0 - rng.integers(1, 9, n))
    sub_cum = cal.cum[subs - cal.first]
    max_k = np.searchsorted(sub_cum, cal.cum[n_rec - cal.first] + limit, side="right") - 1
    max_k = np.clip(max_k, i0 + 1, len(subs) - 1)
    k_dec = i0 + 1 + np.floor(rng.random(n) * (max_k - i0)).astype(np.int64)
    outcome_u = rng.random(n)
    outcome = np.where(outcome_u < 0.83, "approve", np.where(outcome_u < 0.96, "deny", "void"))
    k_dec = np.where(outcome == "void", i0 + 1 + (rng.random(n) < 0.5), k_dec)
    k_dec = np.minimum(k_dec, len(subs) - 1)
    s_dec, s_prev = subs[k_dec], subs[k_dec - 1]
    n_dec = cal.prev_workday(s_prev + _uniform_int(rng, np.ones(n), s_dec - s_prev))
    n_dec = np.where(n_dec <= s_prev, cal.next_workday(s_prev + 1), n_dec)
    n_dec = np.where(n_dec > s_dec, s_dec, n_dec)
    late = (outcome != "void") & (rng.random(n) < 0.04)
    k_file = np.minimum(np.where(late, k_dec + _uniform_int(rng, np.full(n, 3), 6), k_dec), len(subs) - 1)
    s_file = subs[k_file]
    investigating_first = rng.random(n) < 0.4

    rec = np.where(baseline, b_rec, n_rec)
    dec = np.where(baseline, b_dec, n_dec)
    app = rec - rng.integers(0, 6, n)
    # visited / reviewed between receipt and decision (an application shown as
    # 调查中 already carries its visit date, on or before its submission day)
    v_lo = np.where(~baseline & investigating_first, rec, np.where(baseline, rec + 1, s0 + 1))
    v_hi = np.where(~baseline & investigating_first, s0, dec - 1)
    vis = cal.prev_workday(_uniform_int(rng, v_lo, v_hi))
    vis = np.clip(vis, rec, np.maximum(rec, dec))
    rev = cal.prev_workday(_uniform_int(rng, vis, dec))
    rev = np.clip(rev, vis, np.maximum(vis, dec))
    outcome = np.where(baseline, "approve", outcome)
    emitted = baseline | (s_file <= as_of)
    pub_from = dec + rng.integers(1, 4, n)
    pub_to = pub_from + rng.integers(6, 10, n)
    benefit_from = add_months_days(dec, 1)
    sfile = np.where(baseline, base_day, s_file)
    approved_active = emitted & (outcome == "approve")

    # ---- 停发 / 终止 during the year (after the approval was filed)
    u = rng.random(n)
    ev = np.where(u < 0.05, "terminate", np.where(u < 0.085, "suspend", "none"))
    last_sub = _days(tf.submission_days[-1])
    t_lo = np.maximum(_days(tf.go_live) + 10, sfile + 20)
    t_hi = last_sub - 1
    t_day = cal.prev_workday(_uniform_int(rng, t_lo, t_hi))
    _, t_sub = _sub_on_or_after(subs, t_day)
    ok = approved_active & (t_lo <= t_hi) & (t_day >= t_lo) & (t_sub <= as_of)
    ev = np.where(ok, ev, "none")
    r_day = cal.next_workday(t_day + rng.integers(35, 101, n))
    _, r_sub = _sub_on_or_after(subs, r_day)
    resume = (ev == "suspend") & (rng.random(n) < 0.5) & (r_sub <= as_of)

    staff = rng.integers(0, 3, n)
    return pl.DataFrame(
        {
            "case_id": np.arange(n, dtype=np.int64),
            "town_code": codes[town_idx],
            "town_kind": kind,
            "program": program,
            "family": family,
            "baseline": baseline,
            "extended": extended,
            "limit": limit,
            "applied": app,
            "received": rec,
            "visited": vis,
            "reviewed": rev,
            "decided": dec,
            "outcome": outcome,
            "s0": np.where(baseline, base_day, s0),
            "sfile": sfile,
            "emitted": emitted,
            "late": late & ~baseline,
            "investigating_first": investigating_first & ~baseline,
            "pub_from": pub_from,
            "pub_to": pub_to,
            "benefit_from": benefit_from,
            "status_event": ev,
            "t_day": t_day,
            "t_sub": t_sub,
            "resume": resume,
            "r_day": r_day,
            "r_sub": r_sub,
            "anchor": rec,
            "staff": staff,
            "remark_pick": rng.integers(0, len(BASE_REMARKS), n),
            "staff_relative": rng.random(n) < 0.02,
            "complaint": rng.random(n) < 0.01,
        }
    )


def _chain(
    rng,
    start: np.ndarray,
    lo: int,
    hi: int,
    floor_day: np.ndarray | None,
    cal: DayCal,
    subs: np.ndarray,
    stop_sub: np.ndarray,
    count: int = 4,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Successive check dates start + U(lo, hi) days, each kept while its
    submission day is before `stop_sub`. Returns (valid, day, sub) per step."""
    out = []
    last = start.copy()
    alive = np.ones(len(start), dtype=bool)
    for _ in range(count):
        d = last + rng.integers(lo, hi + 1, len(last))
        if floor_day is not None:
            d = np.maximum(d, floor_day)
        d = cal.next_workday(d)
        _, s = _sub_on_or_after(subs, d)
        alive &= s < stop_sub
        out.append((alive.copy(), d, s))
        last = d
    return out


@dataclass
class _Year:
    """The replayed year's case arrays and the events added so far (`add`)."""

    rng: np.random.Generator
    cal: DayCal
    c: dict[str, np.ndarray]  # the cases, column by column
    n: int
    subs: np.ndarray
    as_of: int
    base_day: int
    go_live: int
    approved: np.ndarray
    dibao: np.ndarray
    hw: np.ndarray  # a covered member able to work
    work_total: np.ndarray
    pen_total: np.ndarray
    size: np.ndarray
    stop: np.ndarray  # no re-check or review on or after this day (停发/终止, as_of)
    parts: list[pl.DataFrame] = field(default_factory=list)

    def add(self, sel, etype, day, sub, factor=None, gradual=None, remark=None) -> None:
        """Events of type `etype` for the selected cases (each decided by one of three staff)."""
        sel = np.asarray(sel, dtype=bool)
        k = int(sel.sum())
        if not k:
            return
        self.parts.append(
            pl.DataFrame(
                {
                    "case_id": self.c["case_id"][sel],
                    "etype": np.full(k, etype),
                    "day": np.asarray(day)[sel] if np.ndim(day) else np.full(k, day),
                    "sub": np.asarray(sub)[sel] if np.ndim(sub) else np.full(k, sub),
                    "factor": (np.asarray(factor)[sel] if factor is not None else np.full(k, np.nan)),
                    "gradual": (np.asarray(gradual)[sel] if gradual is not None else np.zeros(k, dtype=bool)),
                    "staff": self.rng.integers(0, 3, k),
                    "remark": (
                        np.asarray(remark, dtype=object)[sel]
                        if remark is not None
                        else np.full(k, "", dtype=object)
                    ),
                },
                schema_overrides={"remark": pl.String},
            )
        )


def _year(
    rng: np.random.Generator, cases: pl.DataFrame, members: pl.DataFrame, tf: TimeFrame, cal: DayCal
) -> _Year:
    c = {k: cases[k].to_numpy() for k in cases.columns}
    # members: who can work, working income, pensions, household size
    has_work = (
        members.group_by("case_id")
        .agg(
            hw=((pl.col("work_ability") == "有") & pl.col("covered")).any(),
            wk=pl.col("work_fen").sum(),
            pen=pl.col("pension_fen").sum(),
            size=pl.len(),
        )
        .sort("case_id")
    )
    as_of = _days(tf.as_of)
    stop = np.where(c["status_event"] != "none", c["t_sub"], np.int64(10**9))
    return _Year(
        rng=rng,
        cal=cal,
        c=c,
        n=cases.height,
        subs=tf.sub_array(),
        as_of=as_of,
        base_day=_days(tf.baseline_as_of),
        go_live=_days(tf.go_live),
        approved=c["emitted"] & (c["outcome"] == "approve"),
        dibao=c["family"] == "dibao",
        hw=has_work["hw"].to_numpy(),
        work_total=has_work["wk"].to_numpy(),
        pen_total=has_work["pen"].to_numpy(),
        size=has_work["size"].to_numpy(),
        stop=np.minimum(stop, as_of + 1),
    )


def build_events(
    rng: np.random.Generator,
    cases: pl.DataFrame,
    members: pl.DataFrame,
    tf: TimeFrame,
    cal: DayCal,
    ref: Reference,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Every case event of the year, the deaths behind 终止 for death, and the
    go-live re-check / annual-review dates.

    Returns (events, deaths, init): events has case_id, etype, day, sub,
    factor, gradual, staff, remark; deaths has case_id, slot, died_on; init has
    case_id, rechecked_init, annual_init.
    """
    y = _year(rng, cases, members, tf, cal)
    _first_decisions(y)
    rechecked_init, rc = _dibao_rechecks(y)
    _gradual_exits(y, rc, ref)
    annual_init = _tekun_annual_reviews(y)
    _suspensions_and_resumptions(y)
    deaths = _terminations(y, members, tf)

    c = y.c
    events = pl.concat(y.parts, how="vertical_relaxed") if y.parts else pl.DataFrame()
    events = events.with_columns(
        pl.col("day").cast(pl.Int64), pl.col("sub").cast(pl.Int64), pl.col("factor").fill_nan(None)
    )
    init = pl.DataFrame(
        {"case_id": c["case_id"], "rechecked_init": rechecked_init, "annual_init": annual_init}
    ).with_columns(pl.col("rechecked_init", "annual_init").replace(-1, None))
    return events.sort(["case_id", "sub"]), deaths, init


def _first_decisions(y: _Year) -> None:
    """The first versions: the go-live caseload's baseline, and each new case's application
    and its decision (approve, deny or void)."""
    c, n, rng, add = y.c, y.n, y.rng, y.add
    baseline = c["baseline"]
    base_remark = np.array(BASE_REMARKS, dtype=object)[c["remark_pick"]]
    add(baseline, "baseline", c["decided"], y.base_day, remark=base_remark)
    new = ~baseline
    add(new, "app", 0, c["s0"])
    emitted = new & c["emitted"]
    add(emitted & (c["outcome"] == "approve"), "approve", c["decided"], c["sfile"])
    deny_r = np.array(DENY_REMARKS, dtype=object)[rng.integers(0, len(DENY_REMARKS), n)]
    add(emitted & (c["outcome"] == "deny"), "deny", c["decided"], c["sfile"], remark=deny_r)
    add(
        emitted & (c["outcome"] == "void"),
        "void",
        c["decided"],
        c["sfile"],
        remark=np.full(n, "录入错误，作废", dtype=object),
    )


def _dibao_rechecks(y: _Year) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Dibao re-checks every 12 months (6 with a covered member able to work), chained from
    the go-live caseload's last re-check before go-live. Returns that re-check's day (-1:
    none) and up to four re-checks per case (valid, day, submission day; events added by
    `_gradual_exits`)."""
    c, n, rng, hw, base_day = y.c, y.n, y.rng, y.hw, y.base_day
    baseline = c["baseline"]
    window = np.where(hw, 120, 300)
    init_recheck = baseline & y.dibao & (c["decided"] < base_day - window)
    rc0 = y.cal.prev_workday(_uniform_int(rng, base_day - window, base_day - 5))
    rechecked_init = np.where(init_recheck, rc0, -1)
    last = np.where(rechecked_init >= 0, rechecked_init, c["decided"])
    floor_day = np.where(baseline, y.go_live + 3 + rng.integers(0, 11, n), 0)
    steps = []
    for hw_val, (lo_v, hi_v) in ((True, (122, 152)), (False, (270, 330))):
        sel = hw == hw_val
        steps.append((sel, _chain(rng, last, lo_v, hi_v, floor_day, y.cal, y.subs, y.stop)))
    rc_valid = np.zeros((4, n), dtype=bool)
    rc_day = np.zeros((4, n), dtype=np.int64)
    rc_sub = np.zeros((4, n), dtype=np.int64)
    for sel, chain in steps:
        for j, (valid, d, s) in enumerate(chain):
            rc_valid[j, sel] = valid[sel]
            rc_day[j, sel] = d[sel]
            rc_sub[j, sel] = s[sel]
    rc_valid &= (y.dibao & y.approved)[None, :]
    return rechecked_init, (rc_valid, rc_day, rc_sub)


def _gradual_exits(y: _Year, rc: tuple[np.ndarray, np.ndarray, np.ndarray], ref: Reference) -> None:
    """Add the dibao re-checks. About 2.5% of dibao cases with work income (no 停发/终止)
    exit gradually: the first re-check finds income above the standard, no further
    re-checks, and a 终止 4–5 months later."""
    c, n, rng, add = y.c, y.n, y.rng, y.add
    rc_valid, rc_day, rc_sub = rc
    gradual = (
        y.dibao
        & y.approved
        & (c["status_event"] == "none")
        & (y.work_total > 0)
        & rc_valid[0]
        & (rng.random(n) < 0.025)
    )
    rc_valid[1:, gradual] = False
    g_day = rc_day[0]
    # the income factor that lifts per-capita income to the standard of that month (+5%)
    g_std = _standard_fen(ref, c["program"], g_day)
    need = (g_std * y.size - y.pen_total) / np.maximum(y.work_total, 1)
    g_factor = np.ceil(need * 100) / 100 + 0.05
    factors = rng.uniform(0.92, 1.10, (4, n))
    for j in range(4):
        is_g = gradual if j == 0 else np.zeros(n, dtype=bool)
        f = np.where(is_g, g_factor, factors[j])
        add(
            rc_valid[j],
            "recheck",
            rc_day[j],
            rc_sub[j],
            factor=f,
            gradual=is_g,
            remark=np.where(
                is_g, "家庭收入超过标准，进入渐退期", np.where(rng.random(n) < 0.1, "年度复核", "")
            ),
        )
    g_end = y.cal.prev_workday(g_day + rng.integers(120, 151, n))
    _, g_end_sub = _sub_on_or_after(y.subs, g_end)
    add(
        gradual & (g_end_sub <= y.as_of),
        "terminate",
        g_end,
        g_end_sub,
        remark=np.full(n, "渐退期满，终止", dtype=object),
    )


def _tekun_annual_reviews(y: _Year) -> np.ndarray:
    """Tekun annual reviews (the bureau's, recorded by the town), chained from the go-live
    caseload's last review before go-live; returns that review's day (-1: none)."""
    c, n, rng, base_day = y.c, y.n, y.rng, y.base_day
    baseline = c["baseline"]
    tekun = ~y.dibao
    t_init = baseline & tekun & (c["decided"] < base_day - 330)
    ar0 = y.cal.prev_workday(_uniform_int(rng, base_day - 330, base_day - 10))
    annual_init = np.where(t_init, ar0, -1)
    last_t = np.where(annual_init >= 0, annual_init, c["decided"])
    t_floor = np.where(baseline, y.go_live + 3 + rng.integers(0, 20, n), 0)
    for valid, d, s in _chain(rng, last_t, 300, 340, t_floor, y.cal, y.subs, y.stop, count=2):
        y.add(valid & tekun & y.approved, "annual", d, s)
    return annual_init


def _suspensions_and_resumptions(y: _Year) -> None:
    """停发 and 恢复; after a resumption, dibao re-checks start again from its date."""
    c, n, rng, add, hw, dibao = y.c, y.n, y.rng, y.add, y.hw, y.dibao
    add(
        c["status_event"] == "suspend",
        "suspend",
        c["t_day"],
        c["t_sub"],
        remark=np.array(SUSPEND_REMARKS, dtype=object)[rng.integers(0, len(SUSPEND_REMARKS), n)],
    )
    add(
        c["resume"],
        "resume",
        c["r_day"],
        c["r_sub"],
        factor=rng.uniform(0.92, 1.10, n),
        remark=np.full(n, "复核后恢复发放", dtype=object),
    )
    until = np.full(n, y.as_of + 1)
    for valid, d, s in _chain(rng, c["r_day"], 122, 152, None, y.cal, y.subs, until, count=3):
        add(valid & c["resume"] & dibao & hw, "recheck", d, s, factor=rng.uniform(0.92, 1.10, n))
    for valid, d, s in _chain(rng, c["r_day"], 270, 330, None, y.cal, y.subs, until, count=2):
        add(valid & c["resume"] & dibao & ~hw, "recheck", d, s, factor=rng.uniform(0.92, 1.10, n))


def _terminations(y: _Year, members: pl.DataFrame, tf: TimeFrame) -> pl.DataFrame:
    """终止: for a death when the oldest covered member is old and the death is recorded
    (quarter-end extract) only after the 终止 took effect, otherwise for income or a move.
    Returns the deaths (case_id, slot, died_on)."""
    c, n, rng = y.c, y.n, y.rng
    oldest = (
        members.filter(pl.col("covered"))
        .sort(["case_id", "birth", "slot"])
        .group_by("case_id", maintain_order=True)
        .agg(pl.col("slot").first(), pl.col("birth").first())
        .sort("case_id")
    )
    o_slot = np.full(n, -1, dtype=np.int64)
    o_birth = np.zeros(n, dtype=np.int64)
    o_slot[oldest["case_id"].to_numpy()] = oldest["slot"].to_numpy()
    o_birth[oldest["case_id"].to_numpy()] = oldest["birth"].cast(pl.Int32).to_numpy()
    term = c["status_event"] == "terminate"
    died = c["t_day"] - rng.integers(3, 21, n)
    qend = _quarter_end_days(died)
    t_month_next = add_months_days(c["t_day"], 1)
    death_ok = (
        term
        & (o_slot >= 0)
        & ((c["t_day"] - o_birth) / 365.2425 >= 70)
        & (qend == _quarter_end_days(c["t_day"]))
        & (t_month_next <= qend)
        & (c["t_sub"] <= qend)
        & (died > np.maximum(c["sfile"], _days(tf.go_live)))
        & (qend <= y.as_of)
        & (rng.random(n) < 0.6)
    )
    reason = np.where(
        death_ok,
        "死亡终止",
        np.where(rng.random(n) < 0.5, "家庭收入超过标准，终止", "户籍迁出本区，终止"),
    ).astype(object)
    y.add(term, "terminate", c["t_day"], c["t_sub"], remark=reason)
    return pl.DataFrame(
        {"case_id": c["case_id"][death_ok], "slot": o_slot[death_ok], "died_on": died[death_ok]}
    )


def _quarter_end_days(days: np.ndarray) -> np.ndarray:
    m = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    q_last = (m // 3) * 3 + 3  # first month after the quarter
    return q_last.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1


def _standard_fen(ref: Reference, program: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The program's standard (fen) in force in each day's month (dibao kinds only)."""
    months = month_start_days(days)
    uniq = np.unique(months)
    consts = month_constants(ref.tables, pl.Series(uniq.astype(np.int32)).cast(pl.Date).to_list())
    frame = pl.DataFrame(
        {"month": pl.Series(months.astype(np.int32)).cast(pl.Date), "program": program}
    ).join(consts, on="month", how="left")
    return np.where(
        program == "dibao_urban", frame["std_dibao_urban"].to_numpy(), frame["std_dibao_rural"].to_numpy()
    ).astype(np.int64)


def assign_case_numbers(cases: pl.DataFrame) -> pl.Series:
    """The town's own case number: DB/TK + year received + running number."""
    f = cases.select(
        "case_id",
        "town_code",
        pl.col("family"),
        year=pl.col("received").cast(pl.Int32).cast(pl.Date).dt.year(),
        received=pl.col("received"),
    ).with_columns(
        seq=pl.int_range(1, pl.len() + 1).over(
            ["town_code", "year", "family"], order_by=["received", "case_id"]
        )
    )
    out = f.select(
        case_no=pl.when(pl.col("family") == "dibao").then(pl.lit("DB")).otherwise(pl.lit("TK"))
        + pl.col("year").cast(pl.String)
        + pl.col("seq").cast(pl.String).str.zfill(5)
    )
    return out["case_no"]


def version_table(events: pl.DataFrame, cases: pl.DataFrame, init: pl.DataFrame) -> pl.DataFrame:
    """One row per case version: the household fields of each submission."""
    etype = pl.col("etype")
    over = "case_id"
    v = (
        events.sort(["case_id", "sub"])
        .with_row_index("version_id")
        .join(init, on="case_id", how="left")
        .join(
            cases.select("case_id", "investigating_first", "outcome", "baseline", "no_publicity"),
            on="case_id",
            how="left",
        )
    )
    is_dec = etype.is_in(list(DECISION_EVENTS))
    v = v.with_columns(
        status=pl.when(etype == "app")
        .then(pl.when(pl.col("investigating_first")).then(pl.lit("调查中")).otherwise(pl.lit("已受理")))
        .otherwise(etype.replace_strict(STATUS_OF_EVENT, default=None, return_dtype=pl.String)),
        decided_day=pl.when(etype == "app")
        .then(None)
        .otherwise(pl.when(is_dec).then(pl.col("day")).forward_fill().over(over, order_by="sub")),
        level=pl.when(etype == "app")
        .then(None)
        .otherwise(
            pl.when(etype == "baseline")
            .then(pl.lit("区"))
            .when(is_dec)
            .then(pl.lit("镇街"))
            .forward_fill()
            .over(over, order_by="sub")
        ),
        staff_key=pl.when(etype == "app")
        .then(None)
        .otherwise(
            pl.when(is_dec)
            .then(pl.col("staff") + pl.when(etype == "baseline").then(100).otherwise(0))
            .forward_fill()
            .over(over, order_by="sub")
        ),
        recheck_day=pl.when(etype.is_in(["recheck", "resume"]))
        .then(pl.col("day"))
        .when(etype == "baseline")
        .then(pl.col("rechecked_init"))
        .forward_fill()
        .over(over, order_by="sub"),
        annual_day=pl.when(etype == "annual")
        .then(pl.col("day"))
        .when(etype == "baseline")
        .then(pl.col("annual_init"))
        .forward_fill()
        .over(over, order_by="sub"),
        factor=pl.when(etype.is_in(["recheck", "resume"]))
        .then(pl.col("factor"))
        .forward_fill()
        .over(over, order_by="sub")
        .fill_null(1.0),
        gradual=pl.col("gradual").cast(pl.Int8).cum_max().over(over, order_by="sub").cast(pl.Boolean),
        seq=pl.int_range(pl.len()).over(over, order_by="sub"),
    )
    line = ~etype.is_in(["app", "deny", "void"]) & (pl.col("outcome") == "approve")
    return v.with_columns(
        show_visit=(etype != "void") & ((etype != "app") | pl.col("investigating_first")),
        show_review=~etype.is_in(["app", "void"]),
        show_line=line,
        show_publicity=line & ~pl.col("no_publicity"),
    ).drop("investigating_first", "outcome", "baseline", "no_publicity", "rechecked_init", "annual_init")


def member_rows(versions: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Every member row of every version, with the version-dependent member fields."""
    rows = versions.select(
        "version_id", "case_id", "sub", "decided_day", "factor", "annual_day", "program"
    ).join(members, on="case_id", how="inner")
    ref_day = pl.coalesce(pl.col("decided_day"), pl.col("sub"))
    ref_date = ref_day.cast(pl.Int32).cast(pl.Date)
    from transforms.identifiers import age_on_expr

    age = age_on_expr(pl.col("birth"), ref_date)
    schooling = (
        pl.when((age >= 3) & (age <= 6))
        .then(pl.lit("学龄前"))
        .when((age >= 7) & (age <= 15))
        .then(pl.lit("在校"))
        .when((age >= 16) & (age <= 18) & pl.col("school_1618"))
        .then(pl.lit("在校"))
        .otherwise(None)
    )
    income = (
        pl.col("pension_fen") + (pl.col("work_fen") * pl.col("factor") / 100).floor().cast(pl.Int64) * 100
    )
    tekun = pl.col("program").str.starts_with("tekun")
    return rows.with_columns(
        schooling=schooling,
        monthly_income_fen=income,
        annual_review_day=pl.when(tekun & pl.col("covered")).then(pl.col("annual_day")).otherwise(None),
    ).sort(["version_id", "slot"])


def version_benefits(versions: pl.DataFrame, rows: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """monthly_benefit (fen) per version: the entitlement at the decision month for an
    approved version; 停发/终止 and 渐退期 versions keep the last approved amount."""
    decided = versions.filter(pl.col("decided_day").is_not_null()).select(
        "version_id",
        "case_id",
        "program",
        standard_month=pl.col("decided_day").cast(pl.Int32).cast(pl.Date).dt.truncate("1mo"),
        age_on=pl.col("decided_day").cast(pl.Int32).cast(pl.Date),
    )
    mem = rows.filter(pl.col("version_id").is_in(decided["version_id"].implode())).select(
        "version_id",
        "covered",
        "monthly_income_fen",
        birth_date=pl.col("birth"),
        disability_type="disability_type",
        disability_grade="disability_grade",
        serious_illness="serious_illness",
        schooling="schooling",
        self_care="self_care",
    )
    ent = case_entitlement(decided, mem, ref.tables, keys=("version_id",)).select(
        "version_id", "entitlement_fen"
    )
    v = versions.join(ent, on="version_id", how="left")
    approved_fresh = (pl.col("status") == "批准") & ~pl.col("gradual")
    carry = pl.col("status").is_in(["停发", "终止"]) | ((pl.col("status") == "批准") & pl.col("gradual"))
    v = v.with_columns(
        _b=pl.when(approved_fresh).then(pl.col("entitlement_fen")).otherwise(None)
    ).with_columns(_bf=pl.col("_b").forward_fill().over("case_id", order_by="sub"))
    return v.with_columns(
        benefit_fen=pl.when(approved_fresh).then(pl.col("_b")).when(carry).then(pl.col("_bf")).otherwise(None)
    ).drop("_b", "_bf")
