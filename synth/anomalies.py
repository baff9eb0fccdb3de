"""Planted anomalies and their ground truth (SPEC §1 ground_truth.csv, §5 rules).

Each planted anomaly lives in its own case (X08 and X09 need two) and trips
exactly its rule. P- and V-anomalies sit in the case's last version (later
versions are dropped) so an earlier clean version stays current and nothing
downstream trips a rule by accident. X-anomalies sit on cases that are
active at as_of, in rows of the newest extract only (registered, died or
reported inside its quarter). Everything else in the home is clean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from synth.timeframe import DayCal, TimeFrame, add_months_days, to_days

P_RULES = ("P01", "P02", "P03")
V_RULES = tuple(f"V{i:02d}" for i in range(1, 17))
X_RULES = tuple(f"X{i:02d}" for i in range(1, 11))
RULES = P_RULES + V_RULES + X_RULES
DEFAULT_RATE = 0.001  # per rule and household: a 2,000-household home gets 2 of each
WANSHENG_CODE = "500110105"  # 万盛经开区: shares the county code, not a Qijiang town
CASE_LEVEL_RULES = ("V02", "V04", "V05", "V06", "V07", "V08", "V09", "V12", "V13", "V15", "V16",
                    "X03", "X06", "X07", "X09")  # fmt: skip


@dataclass
class Plant:
    """One planted anomaly (one ground-truth row, two for X08/X09)."""

    rule: str
    case_id: int = -1
    partner: int = -1  # X08/X09: the second case
    version_id: int = -1  # P/V: the version whose file holds it
    slot: int = -1  # the member concerned (-1: about the case)
    variant: str = ""
    folder: str | None = None  # V02: the inbox folder the version is filed in
    file: str | None = None  # P01/P02: the file itself
    id_no: str | None = None
    data: dict = field(default_factory=dict)


def resolve_counts(anomaly_rate: float | dict[str, float] | None, households: int) -> dict[str, int]:
    """How many of each rule to plant: ceil(rate x households); a dict sets
    rates per rule (rules it leaves out keep the default rate)."""
    if anomaly_rate is None:
        rates = dict.fromkeys(RULES, DEFAULT_RATE)
    elif isinstance(anomaly_rate, dict):
        unknown = set(anomaly_rate) - set(RULES)
        if unknown:
            raise ValueError(f"unknown rule id(s) in anomaly_rate: {', '.join(sorted(unknown))}")
        rates = {r: float(anomaly_rate.get(r, DEFAULT_RATE)) for r in RULES}
    else:
        rates = dict.fromkeys(RULES, float(anomaly_rate))
    for r, v in rates.items():
        if not (0 <= v <= 0.05):
            raise ValueError(f"anomaly rate of {r} must be between 0 and 0.05, got {v}")
    return {r: (math.ceil(v * households - 1e-9) if v > 0 else 0) for r, v in rates.items()}


class Picker:
    """Deterministic draws of distinct host cases."""

    def __init__(self, rng: np.random.Generator, n_cases: int):
        self.rng = rng
        self.used = np.zeros(n_cases, dtype=bool)

    def pick(self, mask: np.ndarray, k: int) -> np.ndarray:
        cand = np.flatnonzero(mask & ~self.used)
        if k <= 0 or cand.size == 0:
            return np.array([], dtype=np.int64)
        chosen = np.sort(self.rng.choice(cand, size=min(k, cand.size), replace=False))
        self.used[chosen] = True
        return chosen


# ---------------------------------------------------------------- plan level


def plant_plan_level(
    cases: pl.DataFrame, counts: dict[str, int], picker: Picker, tf: TimeFrame, cal: DayCal
) -> tuple[pl.DataFrame, list[Plant]]:
    """V07 (decided after the limit) and V16 (no application filed before the
    decision) change a new case's timeline, so they are planted in the plan."""
    c = {
        k: cases[k].to_numpy()
        for k in (
            "baseline",
            "emitted",
            "outcome",
            "late",
            "status_event",
            "limit",
            "received",
            "decided",
            "sfile",
        )
    }
    subs = tf.sub_array()
    as_of = to_days(tf.as_of)
    clean_new = (
        ~c["baseline"]
        & c["emitted"]
        & (c["outcome"] == "approve")
        & ~c["late"]
        & (c["status_event"] == "none")
    )
    clean_new &= ~cases["wansheng"].to_numpy()
    n = cases.height
    rng = picker.rng
    late_dec = cal.add_wd(c["received"], c["limit"] + rng.integers(2, 9, n))
    i = np.minimum(np.searchsorted(subs, late_dec, side="left"), len(subs) - 1)
    late_sub = subs[i]
    v07 = picker.pick(clean_new & (late_sub <= as_of) & (late_sub > c["sfile"] - 400), counts["V07"])
    v16 = picker.pick(clean_new, counts["V16"])
    plants = [Plant("V07", int(k)) for k in v07] + [Plant("V16", int(k)) for k in v16]
    dec = c["decided"].copy()
    sfile = c["sfile"].copy()
    dec[v07] = late_dec[v07]
    sfile[v07] = late_sub[v07]
    pub_from = cases["pub_from"].to_numpy().copy()
    pub_to = cases["pub_to"].to_numpy().copy()
    shift = dec - c["decided"]
    pub_from += shift
    pub_to += shift
    host = np.full(n, "", dtype=object)
    host[v07] = "V07"
    host[v16] = "V16"
    out = cases.with_columns(
        decided=dec,
        sfile=sfile,
        pub_from=pub_from,
        pub_to=pub_to,
        benefit_from=add_months_days(dec, 1),
        no_app=pl.Series(host == "V16"),
        host=pl.Series(host.astype(str)),
    )
    return out, plants


# ---------------------------------------------------------------- event level


def _case_summary(cases: pl.DataFrame, members: pl.DataFrame, events: pl.DataFrame, as_of) -> pl.DataFrame:
    young_limit = as_of.replace(year=as_of.year - 59)  # under 59 at as_of: 16–59 all year
    mem = members.group_by("case_id").agg(
        size=pl.len(),
        n_cov=pl.col("covered").sum(),
        work_total=pl.col("work_fen").sum(),
        pen_total=pl.col("pension_fen").sum(),
        zero_member=((pl.col("work_fen") == 0) & (pl.col("pension_fen") == 0)).any(),
        head_no_work=(
            (pl.col("slot") == 0) & (pl.col("work_fen") == 0) & (pl.col("work_ability") != "有")
        ).any(),
        self_care_full=(pl.col("covered") & (pl.col("self_care") == "全自理")).any(),
        qualifying_adult=(pl.col("covered") & pl.col("qual") & (pl.col("birth") > pl.lit(young_limit))).any(),
    )
    ev = events.group_by("case_id").agg(
        gradual=pl.col("gradual").any(),
        has_app=(pl.col("etype") == "app").any(),
        n_2025=(pl.col("etype") != "baseline").sum(),
    )
    return (
        cases.join(mem, on="case_id", how="left")
        .join(ev, on="case_id", how="left")
        .with_columns(pl.col("gradual", "has_app").fill_null(False), pl.col("n_2025").fill_null(0))
        .sort("case_id")
    )


@dataclass
class _Hosts:
    """Choosing host cases for the event-level anomalies: the case summary as arrays, which
    cases are eligible, the extract days, and the plants so far."""

    picker: Picker
    counts: dict[str, int]
    g: dict[str, np.ndarray]  # the case summary, column by column, indexed by case_id
    n: int
    members: pl.DataFrame
    e_prev: int  # the extract before the newest
    e_last: int  # the newest extract
    not_minors: np.ndarray
    base_ok: np.ndarray  # not 万盛, not a plan-level host
    stable: np.ndarray  # approved, active all year, filed before the previous extract
    town_i: np.ndarray  # the case's town as a number
    plants: list[Plant]

    @property
    def rng(self) -> np.random.Generator:
        return self.picker.rng

    def x_pick(self, rule: str, extra: np.ndarray | None = None) -> np.ndarray:
        """Stable cases (that also meet `extra`) to host `rule`."""
        mask = self.stable if extra is None else self.stable & extra
        return self.picker.pick(mask, self.counts[rule])

    def having(self, cond: pl.Expr) -> np.ndarray:
        """Cases with at least one member meeting `cond`."""
        mask = np.zeros(self.n, dtype=bool)
        mask[self.members.filter(cond)["case_id"].unique().to_numpy()] = True
        return mask

    def slot_choice(self, case_ids, cond: pl.Expr) -> dict[int, int]:
        """One member meeting `cond` of each case, drawn at random."""
        cand = self.members.filter(pl.col("case_id").is_in(list(map(int, case_ids))) & cond)
        out = {}
        for cid, grp in cand.group_by("case_id", maintain_order=True):
            slots = sorted(grp["slot"].to_list())
            out[int(cid[0])] = int(slots[int(self.rng.integers(0, len(slots)))])
        return out


def _hosts(
    cases: pl.DataFrame,
    members: pl.DataFrame,
    events: pl.DataFrame,
    counts: dict[str, int],
    picker: Picker,
    tf: TimeFrame,
    template_names: list[str],
) -> _Hosts:
    s = _case_summary(cases, members, events, tf.as_of)
    g = {k: s[k].to_numpy() for k in s.columns if s[k].dtype != pl.Object}
    e_prev = to_days(tf.extract_dates[-2]) if len(tf.extract_dates) > 1 else to_days(tf.go_live) - 1
    e_last = to_days(tf.extract_dates[-1]) if tf.extract_dates else to_days(tf.as_of)
    not_minors = g["template"] != template_names.index("t_min")
    base_ok = ~g["wansheng"] & (g["host"] == "")
    stable = (
        base_ok
        & (g["outcome"] == "approve")
        & g["emitted"]
        & (g["status_event"] == "none")
        & ~g["gradual"]
        & (g["sfile"] <= e_prev)
        & not_minors
    )
    return _Hosts(
        picker=picker,
        counts=counts,
        g=g,
        n=s.height,
        members=members,
        e_prev=e_prev,
        e_last=e_last,
        not_minors=not_minors,
        base_ok=base_ok,
        stable=stable,
        town_i=np.unique(g["town_code"].astype(str), return_inverse=True)[1],
        plants=[],
    )


def plant_event_level(
    cases: pl.DataFrame,
    members: pl.DataFrame,
    events: pl.DataFrame,
    counts: dict[str, int],
    picker: Picker,
    tf: TimeFrame,
    cal: DayCal,
    ref,
    template_names: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[Plant]]:
    """X hosts (stable active cases), then the V/P hosts whose last version is planted.

    Returns (cases, members, events, plants) with X08 identities and X09
    accounts merged, later versions of V/P hosts dropped, V16's application
    dropped and V08's late-filed old decision added.
    """
    h = _hosts(cases, members, events, counts, picker, tf, template_names)
    _plant_x08_one_person_two_cases(h)
    cases = _plant_x09_one_account_two_cases(h, cases)
    _plant_x_member_rows(h)
    _plant_x03_property(h)
    _plant_x06_deposits(h)
    _plant_x07_pension(h, ref, tf)
    targets, folders, member_slot = _pick_v_hosts(h, events, ref, tf)
    cut = _cut_at_first_eligible(h, events, targets, folders, member_slot)
    cut.update(_plan_host_cuts(cases, events))
    v08_events = _plant_v08_old_decision(h, cut, cal, ref, tf)
    ev = _apply_cuts(events, cases, cut, v08_events)
    # plan-level plants are recorded by the caller
    return cases, h.members, ev, h.plants


def _plant_x08_one_person_two_cases(h: _Hosts) -> None:
    """X08: the same person covered in two cases of two towns (a head with no work, and a
    single-member dibao case elsewhere whose member becomes that head)."""
    g, picker = h.g, h.picker
    singles_b = h.stable & (g["family"] == "dibao") & (g["size"] == 1)
    x08_a = picker.pick(h.stable & g["head_no_work"], h.counts["X08"])
    merges = []
    for a in x08_a:
        b_mask = singles_b & (h.town_i != h.town_i[a])
        b = picker.pick(b_mask, 1)
        if b.size == 0:
            picker.used[a] = False
            continue
        merges.append((int(a), int(b[0])))
        h.plants.append(Plant("X08", int(a), partner=int(b[0]), slot=0))
    if merges:
        members = _merge_identities(h.members, merges)
        heads = members.filter((pl.col("slot") == 0) & pl.col("case_id").is_in([a for a, _ in merges]))
        head_id = dict(zip(heads["case_id"].to_list(), heads["id_no"].to_list(), strict=True))
        for p in h.plants:
            if p.rule == "X08":
                p.id_no = head_id[p.case_id]
        h.members = members


def _plant_x09_one_account_two_cases(h: _Hosts, cases: pl.DataFrame) -> pl.DataFrame:
    """X09: one account on two active cases of two towns (the second takes the first's)."""
    picker = h.picker
    accounts = cases.select("case_id", "bank", "account_no", "account_holder")
    x09_a = picker.pick(h.stable, h.counts["X09"])
    acc_updates = {}
    for a in x09_a:
        b = picker.pick(h.stable & (h.town_i != h.town_i[a]), 1)
        if b.size == 0:
            picker.used[a] = False
            continue
        acc_updates[int(b[0])] = int(a)
        h.plants.append(Plant("X09", int(a), partner=int(b[0])))
    if acc_updates:
        src = accounts.filter(pl.col("case_id").is_in(list(acc_updates.values())))
        upd = pl.DataFrame({"case_id": list(acc_updates), "src": list(acc_updates.values())}).join(
            src.rename({"case_id": "src"}), on="src", how="left"
        )
        cases = cases.update(upd.drop("src"), on="case_id")
    return cases


_ADULT = pl.col("rule").is_in(["head", "spouse", "eld_spouse", "sibling"]) | (pl.col("slot") == 0)


def _plant_x_member_rows(h: _Hosts) -> None:
    """X01 (a covered member died), X02 (a car), X04 (a business role), X05 (on the public
    payroll) and X10 (insured or paying into the fund without a declared income): one
    member of one case each, in the newest extract (X01/X02/X05 dated inside its quarter)."""
    adult = _ADULT
    for rule, cond, day_from in (
        ("X01", pl.col("covered"), h.e_prev + 1),
        ("X02", adult, h.e_prev + 1),
        ("X04", adult, None),
        ("X05", adult & (pl.col("birth").dt.year() >= 1966), h.e_prev + 1),
        ("X10", (pl.col("work_fen") == 0) & (pl.col("pension_fen") == 0) & adult, None),
    ):
        chosen = h.x_pick(rule, h.having(cond))
        slots = h.slot_choice(chosen, cond)
        for cid in chosen:
            if int(cid) not in slots:
                h.picker.used[cid] = False
                continue
            p = Plant(rule, int(cid), slot=slots[int(cid)])
            if day_from is not None:
                p.data["day"] = int(h.rng.integers(day_from, h.e_last + 1))
            p.variant = (
                ["insured", "fund"][len([q for q in h.plants if q.rule == rule]) % 2] if rule == "X10" else ""
            )
            h.plants.append(p)


def _plant_x03_property(h: _Hosts) -> None:
    """X03: the head registers a second home or a shop inside the newest extract's quarter."""
    for cid in h.x_pick("X03"):
        k = len([q for q in h.plants if q.rule == "X03"])
        h.plants.append(
            Plant(
                "X03",
                int(cid),
                slot=0,
                variant=["two_homes", "shop"][k % 2],
                data={"day": int(h.rng.integers(h.e_prev + 1, h.e_last + 1))},
            )
        )


def _plant_x06_deposits(h: _Hosts) -> None:
    """X06: the head holds deposits above the household's yearly standard (sized later)."""
    for cid in h.x_pick("X06"):
        h.plants.append(Plant("X06", int(cid), slot=0, data={"size": int(h.g["size"][cid])}))


def _plant_x07_pension(h: _Hosts, ref, tf: TimeFrame) -> None:
    """X07: a member who declared no income draws a pension that lifts the household above
    the dibao standard."""
    g = h.g
    x07_cond = (pl.col("work_fen") == 0) & (pl.col("pension_fen") == 0) & _ADULT
    x07 = h.x_pick("X07", (g["work_total"] == 0) & h.having(x07_cond))
    slots = h.slot_choice(x07, x07_cond)
    std_now = _dibao_std_fen(ref, tf)
    for cid in x07:
        if int(cid) not in slots:
            h.picker.used[cid] = False
            continue
        prog = g["program"][cid]
        kind = (
            "dibao_urban"
            if prog == "dibao_urban" or (prog.startswith("tekun") and g["town_kind"][cid] == "街道")
            else "dibao_rural"
        )
        need = std_now[kind] * int(g["size"][cid]) - int(g["pen_total"][cid])
        amount = int(need + h.rng.integers(50, 300) * 100)
        h.plants.append(Plant("X07", int(cid), slot=slots[int(cid)], data={"amount_fen": amount}))


_TARGET_TYPES = {
    "approve": ["approve"],
    "app": ["app"],
    "approved": ["approve", "recheck", "resume"],
    "any": ["app", "approve", "recheck", "annual", "resume"],
}


def _pick_v_hosts(
    h: _Hosts, events: pl.DataFrame, ref, tf: TimeFrame
) -> tuple[dict[int, tuple[str, str]], dict[int, str], dict[int, int]]:
    """The V/P hosts whose last version carries the anomaly, as case -> (rule, kind of the
    target event, a key of `_TARGET_TYPES`); also V02's wrong folder and V10/V11's member."""
    g, n, picker, counts, rng = h.g, h.n, h.picker, h.counts, h.rng
    ev = events
    new_case = h.base_ok & ~g["baseline"] & g["has_app"]
    approved_new = (
        new_case & (g["outcome"] == "approve") & g["emitted"] & ~g["late"] & (g["status_event"] == "none")
    )
    targets: dict[int, tuple[str, str]] = {}  # case -> (rule, etype of the target)

    for rule in ("V05", "V06", "V13"):
        extra = ~g["no_publicity"] if rule in ("V05", "V06") else np.ones(n, dtype=bool)
        for cid in picker.pick(approved_new & extra & ~g["gradual"], counts[rule]):
            targets[int(cid)] = (rule, "approve")
    v02 = max(counts["V02"] - 1, 0) if counts["V02"] else 0
    folders = {}
    town_list = sorted(set(ref["towns"]["code"].to_list()))
    for cid in picker.pick(new_case, v02):
        targets[int(cid)] = ("V02", "app")
        others = [t for t in town_list if t != g["town_code"][cid]]
        folders[int(cid)] = others[int(rng.integers(0, len(others)))]
    for cid in picker.pick(new_case & (g["size"] >= 2), counts["V14"]):
        targets[int(cid)] = ("V14", "app")
    eligible_any = (
        ev.filter(pl.col("etype").is_in(["app", "approve", "recheck", "annual", "resume"]))["case_id"]
        .unique()
        .to_numpy()
    )
    with_2025 = np.zeros(n, dtype=bool)
    with_2025[eligible_any] = True
    with_2025 &= h.base_ok & h.not_minors
    approved_2025 = (
        ev.filter(pl.col("etype").is_in(["approve", "recheck", "resume"]))["case_id"].unique().to_numpy()
    )
    has_appr = np.zeros(n, dtype=bool)
    has_appr[approved_2025] = True
    for rule in ("V09", "V12", "V15"):
        for cid in picker.pick(with_2025 & has_appr & ~g["gradual"], counts[rule]):
            targets[int(cid)] = (rule, "approved")
    for rule in ("V01", "V03", "V04", "P03"):
        extra = (g["size"] >= 2) if rule == "V04" else np.ones(n, dtype=bool)
        for cid in picker.pick(with_2025 & extra, counts[rule]):
            targets[int(cid)] = (rule, "any")
    tekun = np.char.startswith(g["program"].astype(str), "tekun")
    member_slot = {}
    v10 = picker.pick(with_2025 & tekun & g["qualifying_adult"], counts["V10"])
    young = pl.col("birth") > pl.lit(tf.as_of.replace(year=tf.as_of.year - 59))
    for cid, slot in h.slot_choice(v10, pl.col("covered") & pl.col("qual") & young).items():
        targets[cid] = ("V10", "any")
        member_slot[cid] = slot
    v11 = picker.pick(with_2025 & tekun & g["self_care_full"], counts["V11"])
    for cid, slot in h.slot_choice(v11, pl.col("covered") & (pl.col("self_care") == "全自理")).items():
        targets[cid] = ("V11", "any")
        member_slot[cid] = slot
    return targets, folders, member_slot


def _cut_at_first_eligible(
    h: _Hosts,
    events: pl.DataFrame,
    targets: dict[int, tuple[str, str]],
    folders: dict[int, str],
    member_slot: dict[int, int],
) -> dict[int, int]:
    """Plant each V/P host on its first eligible event of the year; returns case -> the
    submission day after which its events are dropped (a host with none is released)."""
    first_new = events.filter(pl.col("etype") != "baseline").sort(["case_id", "sub"]).with_row_index("_r")
    tsel = pl.DataFrame(
        {
            "case_id": list(targets),
            "rule": [t[0] for t in targets.values()],
            "kind": [t[1] for t in targets.values()],
        },
        schema={"case_id": pl.Int64, "rule": pl.String, "kind": pl.String},
    )
    tev = first_new.join(tsel, on="case_id", how="inner")
    tev = tev.filter(
        pl.struct("kind", "etype").map_elements(
            lambda r: r["etype"] in _TARGET_TYPES[r["kind"]], return_dtype=pl.Boolean
        )
    )
    # the first eligible event of each case
    tev = tev.sort(["case_id", "sub"]).group_by("case_id", maintain_order=True).first()
    cut = dict(zip(tev["case_id"].to_list(), tev["sub"].to_list(), strict=True))
    for cid, (rule, _) in targets.items():
        if cid not in cut:
            h.picker.used[cid] = False
            continue
        h.plants.append(
            Plant(
                rule, cid, slot=member_slot.get(cid, -1), folder=folders.get(cid), data={"sub": int(cut[cid])}
            )
        )
    return cut


def _plan_host_cuts(cases: pl.DataFrame, events: pl.DataFrame) -> dict[int, int]:
    """V07 keeps only its application and (late) decision; V16 loses its application
    (dropped in `_apply_cuts`)."""
    plan_hosts = dict(zip(cases["case_id"].to_list(), cases["host"].to_list(), strict=True))
    plan_ids = [cid for cid, host in plan_hosts.items() if host in ("V07", "V16")]
    ap = events.filter(pl.col("case_id").is_in(plan_ids) & (pl.col("etype") == "approve"))
    return {int(cid): int(sub) for cid, sub in zip(ap["case_id"].to_list(), ap["sub"].to_list(), strict=True)}


def _plant_v08_old_decision(h: _Hosts, cut: dict[int, int], cal: DayCal, ref, tf: TimeFrame) -> list[dict]:
    """V08: a late-filed old decision taken by the town before its authority date; the
    host's events of the year are dropped. Returns the added events."""
    g, rng = h.g, h.rng
    auth = dict(zip(ref["towns"]["code"].to_list(), ref["towns"]["authority_from"].to_list(), strict=True))
    auth_days = np.array([to_days(auth[t]) if t in auth else 0 for t in g["town_code"]])
    old_day = cal.prev_workday(auth_days - rng.integers(15, 46, h.n))
    v08_ok = h.base_ok & g["baseline"] & (g["decided"] < old_day - 20) & h.not_minors
    subs = np.array([to_days(d) for d in tf.submission_days])
    v08_events = []
    for cid in h.picker.pick(v08_ok, h.counts["V08"]):
        sub = int(subs[int(rng.integers(0, len(subs)))])
        cut[int(cid)] = -1  # drop every 2025 event
        v08_events.append(
            {"case_id": int(cid), "etype": "old_decision", "day": int(old_day[cid]), "sub": sub}
        )
        h.plants.append(Plant("V08", int(cid), data={"sub": sub}))
    return v08_events


def _apply_cuts(
    events: pl.DataFrame, cases: pl.DataFrame, cut: dict[int, int], v08_events: list[dict]
) -> pl.DataFrame:
    """Drop events after each cut (-1: all but the baseline); V16 drops the application;
    V08's old decisions are added."""
    cut_df = pl.DataFrame(
        {"case_id": list(cut), "cut": list(cut.values())}, schema={"case_id": pl.Int64, "cut": pl.Int64}
    )
    ev = events.join(cut_df, on="case_id", how="left").with_columns(pl.col("cut").fill_null(10**12))
    keep = (
        pl.when(pl.col("cut") == -1)
        .then(pl.col("etype") == "baseline")
        .otherwise(pl.col("sub") <= pl.col("cut"))
    )
    ev = ev.filter(keep).drop("cut")
    no_app = cases.filter(pl.col("no_app"))["case_id"].to_list()
    ev = ev.filter(~((pl.col("etype") == "app") & pl.col("case_id").is_in(no_app)))
    if v08_events:
        extra = pl.DataFrame(v08_events).with_columns(
            factor=pl.lit(None, dtype=pl.Float64),
            gradual=pl.lit(False),
            staff=pl.lit(0, dtype=ev["staff"].dtype),
            remark=pl.lit("补报", dtype=pl.String),
        )
        ev = pl.concat([ev, extra.select(ev.columns).cast(ev.schema)])
    return ev.sort(["case_id", "sub"])


def _merge_identities(members: pl.DataFrame, merges: list[tuple[int, int]]) -> pl.DataFrame:
    """X08: case B's single member becomes case A's head (same person, same facts)."""
    cols = ["name", "id_no", "birth", "male", "disability_type", "disability_grade", "serious_illness",
            "work_ability", "pension_fen", "work_fen", "school_1618"]  # fmt: skip
    src = members.filter(pl.col("slot") == 0)
    pairs = pl.DataFrame({"a": [a for a, _ in merges], "case_id": [b for _, b in merges]})
    upd = pairs.join(src.select(["case_id", *cols]).rename({"case_id": "a"}), on="a", how="left").drop("a")
    upd = upd.with_columns(slot=pl.lit(0, dtype=members["slot"].dtype))
    return members.update(upd, on=["case_id", "slot"])


def _dibao_std_fen(ref, tf: TimeFrame) -> dict[str, int]:
    from transforms.entitlement import month_constants

    row = month_constants(ref.tables, [tf.as_of.replace(day=1)]).row(0, named=True)
    return {"dibao_urban": int(row["std_dibao_urban"]), "dibao_rural": int(row["std_dibao_rural"])}


# ---------------------------------------------------------------- row level

V03_VALUES = ("儿媳", "女婿", "外孙")
P03_VALUES = ("五百", "待核实", "8OO")


def plant_row_level(
    rows: pl.DataFrame, plants: list[Plant], rng: np.random.Generator
) -> tuple[pl.DataFrame, dict[int, dict[str, str]]]:
    """Edit the planted versions' rows (`rows` holds them, typed; plants carry
    their version_id). Returns the edited rows and raw-text overrides
    (row_uid -> {field: text}) for values that are not of their type (P03)."""
    targets = {p.version_id: p for p in plants if p.rule in P_RULES + V_RULES and p.version_id >= 0}
    if not targets:
        return rows, {}
    hit = rows.filter(pl.col("version_id").is_in(list(targets)))
    rest = rows.filter(~pl.col("version_id").is_in(list(targets)))
    recs = hit.sort(["version_id", "slot"]).to_dicts()
    by_v: dict[int, list[dict]] = {}
    for r in recs:
        by_v.setdefault(r["version_id"], []).append(r)
    overrides: dict[int, dict[str, str]] = {}
    counter: dict[str, int] = {}
    out: list[dict] = []
    for vid, rs in by_v.items():
        p = targets[vid]
        k = counter.get(p.rule, 0)  # the k-th plant of its rule picks the variant
        counter[p.rule] = k + 1
        for r in rs:
            r["plain"] = True
        edit = _ROW_EDITS.get(p.rule)
        if edit is not None:
            edit(_Version(p, k, rs, [r for r in rs if r["slot"] != 0], rng, overrides))
        out.extend(rs)
    edited = pl.DataFrame(out, schema=rows.schema)
    return pl.concat([rest, edited]).sort(["version_id", "slot"]), overrides


@dataclass
class _Version:
    """One planted version's rows, being edited: the plant, its number k among its rule's
    plants, the rows (head first), the other members' rows, and the P03 overrides."""

    p: Plant
    k: int
    rs: list[dict]
    others: list[dict]
    rng: np.random.Generator
    overrides: dict[int, dict[str, str]]

    def concerns(self, r: dict) -> None:
        """The plant is about the member of row `r`."""
        self.p.slot, self.p.id_no = r["slot"], r["id_no"]


def _v01_bad_id(v: _Version) -> None:
    """V01: a member's ID with a wrong check character, or (every other one, while the case
    is still an application) an impossible birth date (Feb 30/31)."""
    from transforms.identifiers import id_check_char

    rs, others, rng, p = v.rs, v.others, v.rng, v.p
    r = others[int(rng.integers(0, len(others)))] if others else rs[0]
    idn = r["id_no"]
    if v.k % 2 == 1 and r["status"] in ("已受理", "调查中"):
        f17 = idn[:10] + ("0230" if idn[10:12] != "02" else "0231") + idn[14:17]
        r["id_no"] = f17 + id_check_char(f17)
        p.variant = "birth_date"
    else:
        good = idn[17]
        r["id_no"] = idn[:17] + ("0123456789X".replace(good, "")[int(rng.integers(0, 10))])
        p.variant = "checksum"
    v.concerns(r)


def _v03_outside_code_list(v: _Version) -> None:
    """V03: a value outside its code list: a member's relation or work ability, or the
    household's complaint field."""
    rs, others, k = v.rs, v.others, v.k
    if others and k % 3 != 1:
        r = others[int(v.rng.integers(0, len(others)))]
        if k % 3 == 0:
            r["relation"] = V03_VALUES[k % len(V03_VALUES)]
            v.p.variant = "relation"
        else:
            r["work_ability"] = "一般"
            v.p.variant = "work_ability"
        v.concerns(r)
    else:
        for r in rs:
            r["complaint"] = "不详"
        v.p.variant = "complaint"


def _v04_household_inconsistent(v: _Version) -> None:
    """V04: household fields that disagree between rows (a village), two heads or none."""
    rs, others = v.rs, v.others
    variant = ("village", "two_heads", "no_head")[v.k % 3] if others else "no_head"
    if variant == "village":
        others[0]["village"] = (others[0]["village"] or "") + "二组"
    elif variant == "two_heads":
        others[0]["relation"] = "户主"
    else:
        rs[0]["relation"] = "其他"
    v.p.variant = variant


def _v05_dates_out_of_order(v: _Version) -> None:
    """V05: process dates out of order (visit after the decision, publicity before it, or
    applied after received)."""
    variant = ("visit_after_decision", "publicity_before_decision", "applied_after_received")[v.k % 3]
    for r in v.rs:
        if variant == "visit_after_decision":
            r["visited_on"] = r["decided_on"] + 3
        elif variant == "publicity_before_decision":
            r["publicity_from"] = r["decided_on"] - 4
            r["publicity_to"] = r["publicity_from"] + 7
        else:
            r["applied_on"] = r["received_on"] + 3
    v.p.variant = variant


def _v06_publicity_short(v: _Version) -> None:
    """V06: the publicity missing, or six days instead of seven."""
    variant = ("missing", "six_days")[v.k % 2]
    for r in v.rs:
        if variant == "missing":
            r["publicity_from"] = None
            r["publicity_to"] = None
        else:
            r["publicity_to"] = r["publicity_from"] + 5
    v.p.variant = variant


def _v09_benefit_off(v: _Version) -> None:
    """V09: the monthly benefit off by a few yuan, up or down."""
    rs, rng, k = v.rs, v.rng, v.k
    delta = int(rng.integers(2, 60)) * 100 + int(rng.integers(0, 100))
    sign = -1 if (k % 2 and rs[0]["monthly_benefit_fen"] > delta + 100) else 1
    for r in rs:
        r["monthly_benefit_fen"] = r["monthly_benefit_fen"] + sign * delta
    v.p.variant = f"{'+' if sign > 0 else '-'}{delta}"


def _v10_disability_unqualified(v: _Version) -> None:
    """V10: a covered tekun member aged 16–59 whose disability is downgraded."""
    r = next(x for x in v.rs if x["slot"] == v.p.slot)
    if r["disability_type"] in ("肢体", "多重"):
        r["disability_grade"] = "三级"
    elif r["disability_type"] == "视力":
        r["disability_grade"] = "二级"
    else:
        r["disability_grade"] = "四级"
    r["work_ability"] = "部分"
    v.concerns(r)


def _v11_self_care_missing(v: _Version) -> None:
    """V11: a tekun member's self-care level left empty."""
    r = next(x for x in v.rs if x["slot"] == v.p.slot)
    r["self_care"] = None
    v.concerns(r)


def _v12_account_missing(v: _Version) -> None:
    """V12: the account number left empty."""
    for r in v.rs:
        r["account_no"] = None


def _v13_benefit_start_wrong(v: _Version) -> None:
    """V13: the first approval's benefit_from set to the decision month, or two months later."""
    variant = ("same_month", "two_months_later")[v.k % 2]
    for r in v.rs:
        r["benefit_from"] = r["decided_on"] if variant == "same_month" else r["benefit_from"] + 62
    v.p.variant = variant


def _v14_member_twice(v: _Version) -> None:
    """V14: a member listed twice in the version."""
    r = v.others[0]
    dup = dict(r)
    dup["row_uid"] = r["row_uid"] + 100
    dup["slot"] = r["slot"] + 100
    v.rs.append(dup)
    v.concerns(r)


def _v15_account_bad_check(v: _Version) -> None:
    """V15: the account's last digit changed (its Luhn check fails)."""
    acc = v.rs[0]["account_no"]
    bad = acc[:-1] + str((int(acc[-1]) + 1 + int(v.rng.integers(0, 8))) % 10)
    for r in v.rs:
        r["account_no"] = bad


def _p03_income_not_a_number(v: _Version) -> None:
    """P03: a member's monthly income written as text that is not a number."""
    r = v.others[int(v.rng.integers(0, len(v.others)))] if v.others else v.rs[0]
    v.overrides[r["row_uid"]] = {"monthly_income": P03_VALUES[v.k % len(P03_VALUES)]}
    v.concerns(r)
    v.p.variant = "monthly_income"


# the rules planted by editing rows (V02 is its folder, V07/V08/V16 their events, P01/P02 files)
_ROW_EDITS = {
    "V01": _v01_bad_id,
    "V03": _v03_outside_code_list,
    "V04": _v04_household_inconsistent,
    "V05": _v05_dates_out_of_order,
    "V06": _v06_publicity_short,
    "V09": _v09_benefit_off,
    "V10": _v10_disability_unqualified,
    "V11": _v11_self_care_missing,
    "V12": _v12_account_missing,
    "V13": _v13_benefit_start_wrong,
    "V14": _v14_member_twice,
    "V15": _v15_account_bad_check,
    "P03": _p03_income_not_a_number,
}
