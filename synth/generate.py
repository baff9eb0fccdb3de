"""`generate()`: a whole synthetic data home (SPEC §1–3), reproducible by seed.

Same seed and as-of give byte-identical files with identical modification
times. See docs/synth.md for the time frame, the file layout and the
anomaly definitions.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from core.home import Home
from core.reference import load_reference
from synth.anomalies import (
    CASE_LEVEL_RULES,
    P_RULES,
    RULES,
    V_RULES,
    WANSHENG_CODE,
    Picker,
    Plant,
    plant_event_level,
    plant_plan_level,
    plant_row_level,
    resolve_counts,
)
from synth.history import (
    assign_case_numbers,
    build_events,
    member_rows,
    plan_cases,
    version_benefits,
    version_table,
)
from synth.households import GRADE_LABEL, TEMPLATES, choose_templates, make_members
from synth.people import (
    SURNAME_P,
    SURNAMES,
    make_accounts,
    make_names,
    make_phones,
    make_resident_ids,
    make_villages,
    rng_for,
)
from synth.registries import (
    SOURCES,
    Population,
    build_registries,
    finish_extract,
    make_residents,
    write_extract,
)
from synth.timeframe import DayCal, TimeFrame, from_days, make_timeframe, shanghai_timestamp, to_days
from synth.writers import (
    FileStyle,
    file_fields,
    format_rows,
    header_choices,
    headers_for,
    style_frame,
    write_csv,
    write_json,
    write_xls,
    write_xlsx,
)
from transforms.calendar import WorkingCalendar
from transforms.identifiers import age_on_expr

DEFAULT_AS_OF = date(2025, 12, 31)
FORMATS = ("mixed", "csv", "xlsx", "xls", "json")
RESIDENTS_PER_RECIPIENT = 3
XLS_MAX_ROWS = 60_000

Progress = Callable[[str, int, int], None]


@dataclass
class SynthSummary:
    """What `generate` wrote."""

    out: Path
    seed: int
    as_of: date
    households: int
    cases: int
    versions: int
    member_rows: int
    persons: int
    residents: int
    files: dict[str, int]  # submission files by format (xlsx, xls, csv, json) and the odd ones
    registry_files: dict[str, int]  # by format (csv, parquet)
    registry_rows: int
    anomalies: dict[str, int]  # ground-truth rows by rule
    planted: dict[str, int]  # planted instances by rule (X08/X09 instances have two rows each)
    go_live_month: str
    baseline_as_of: date
    submission_days: list[date]
    extract_dates: list[date]
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def describe(self) -> str:
        """A few lines for the person who asked for it."""
        files = ", ".join(f"{n} {fmt}" for fmt, n in sorted(self.files.items()))
        rules = sum(1 for n in self.anomalies.values() if n)
        return (
            f"Synthetic district in {self.out} (seed {self.seed}, as of {self.as_of}):\n"
            f"  {self.households:,} households, {self.cases:,} cases, {self.versions:,} versions, "
            f"{self.member_rows:,} member rows, {self.persons:,} people in cases, {self.residents:,} other residents\n"
            f"  submission files: {files}\n"
            f"  registry extracts: {sum(self.registry_files.values())} files, {self.registry_rows:,} rows\n"
            f"  planted anomalies: {sum(self.anomalies.values())} rows over {rules} rules (ground_truth.csv)\n"
            f"  go-live {self.go_live_month}; baseline as of {self.baseline_as_of}; "
            f"{len(self.submission_days)} submission days; {self.seconds:.1f} s"
        )


def _noop(stage: str, done: int, total: int) -> None:
    return None


def generate(
    out: Path,
    *,
    households: int = 2000,
    seed: int = 20251231,
    as_of: date = DEFAULT_AS_OF,
    anomaly_rate: float | dict[str, float] | None = None,
    formats: str = "mixed",
    progress: Progress | None = None,
) -> SynthSummary:
    """Write a synthetic district's data home into `out` (which must hold no inbox yet)."""
    t0 = time.perf_counter()
    say = progress or _noop
    if households < 20:
        raise ValueError("households must be at least 20")
    if formats not in FORMATS:
        raise ValueError(f"formats must be one of {', '.join(FORMATS)}, got {formats!r}")
    home = Home(Path(out).expanduser().resolve())
    for d in (home.inbox, home.registries):
        if d.exists() and any(d.iterdir()):
            raise FileExistsError(f"{d} is not empty: generate into a new folder")
    stages = 8
    say("plan", 0, stages)
    ref = load_reference(None)
    tf = make_timeframe(as_of)
    cal = DayCal(WorkingCalendar(ref["holidays"]))
    counts = resolve_counts(anomaly_rate, households)

    cases, picker, plants = _plan_cases(households, seed, counts, tf, cal, ref)
    say("people", 1, stages)
    cases, members, residents = _make_people(cases, seed, ref, to_days(as_of))
    say("history", 2, stages)
    cases, members, events, deaths, init = _make_history(
        cases, members, plants, counts, picker, seed, tf, cal, ref
    )
    say("versions", 3, stages)
    versions, ctx, host_rows, overrides = _make_versions(cases, members, events, init, plants, seed, ref)
    del events
    cases, members = ctx.cases, ctx.members

    # ---- 5. files
    say("files", 4, stages)
    town_names = dict(zip(ref["towns"]["code"].to_list(), ref["towns"]["name"].to_list(), strict=True))
    town_names[WANSHENG_CODE] = "万盛经开区南桐镇"
    n_versions = versions.height
    files_written, file_of_version, n_rows, n_cases = _write_submissions(
        home, versions, ctx, host_rows, overrides, plants, picker, tf, ref, town_names, formats, seed, say
    )
    del versions

    # ---- 6. registries
    say("registries", 5, stages)
    reg_counts, reg_rows = _write_registries(home, members, residents, plants, deaths, tf, ref, seed)

    # ---- 7. ground truth, synth.json, modification times
    say("ground_truth", 6, stages)
    gt = _ground_truth(plants, cases, file_of_version, members)
    _write_ground_truth(home, gt)
    planted = Counter(p.rule for p in plants if _planted_ok(p, file_of_version))
    anomalies = Counter(r["rule_id"] for r in gt)
    summary = SynthSummary(
        out=home.root,
        seed=seed,
        as_of=as_of,
        households=households,
        cases=n_cases,
        versions=n_versions,
        member_rows=n_rows,
        persons=members["id_no"].n_unique(),
        residents=residents.height,
        files=files_written,
        registry_files=reg_counts,
        registry_rows=reg_rows,
        anomalies={r: anomalies.get(r, 0) for r in RULES},
        planted={r: planted.get(r, 0) for r in RULES},
        go_live_month=tf.go_live_month,
        baseline_as_of=tf.baseline_as_of,
        submission_days=list(tf.submission_days),
        extract_dates=list(tf.extract_dates),
    )
    _write_synth_json(home, summary, formats, tf)
    _set_directory_times(home.root, tf)
    say("done", stages, stages)
    summary.seconds = time.perf_counter() - t0
    return summary


def _plan_cases(
    households: int, seed: int, counts: dict[str, int], tf: TimeFrame, cal: DayCal, ref
) -> tuple[pl.DataFrame, Picker, list[Plant]]:
    """Stage 1: the cases and their first-decision timelines, the 万盛 case (V02), and the
    anomalies planted in the plan (V07, V16; P01/P02 are files, placed later)."""
    cases = plan_cases(rng_for(seed, 1), households, tf, cal, ref)
    if counts["V02"] > 0:
        cases = _add_wansheng_case(cases, rng_for(seed, 21))
    cases = cases.with_columns(wansheng=pl.col("town_code") == WANSHENG_CODE)
    picker = Picker(rng_for(seed, 2), cases.height)
    picker.used[cases["wansheng"].to_numpy()] = True
    cases, plants = plant_plan_level(cases, counts, picker, tf, cal)
    plants += [Plant("P01") for _ in range(counts["P01"])] + [Plant("P02") for _ in range(counts["P02"])]
    return cases, picker, plants


def _make_people(
    cases: pl.DataFrame, seed: int, ref, as_of_d: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Stage 2: each case's household members (from a template), the residents who receive
    nothing, everyone's ID and name, and the case fields that follow from its people."""
    tmpl = choose_templates(
        rng_for(seed, 3),
        cases["family"].to_numpy(),
        cases["program"].to_numpy(),
        cases["anchor"].to_numpy(),
        as_of_d,
    )
    cases = cases.with_columns(template=tmpl)
    members = make_members(rng_for(seed, 4), cases, ref.tables, as_of_d)
    residents = make_residents(rng_for(seed, 5), RESIDENTS_PER_RECIPIENT * members.height, as_of_d)
    births = pl.concat([members["birth"], residents["birth"]]).cast(pl.Int32).to_numpy()
    males = np.concatenate([members["male"].to_numpy(), residents["male"].to_numpy()])
    ids = make_resident_ids(rng_for(seed, 6), births, males)
    members = members.with_columns(
        id_no=ids.slice(0, members.height), name=_member_names(rng_for(seed, 7), members)
    )
    residents = residents.with_columns(
        id_no=ids.slice(members.height, residents.height),
        name=make_names(rng_for(seed, 8), residents["male"].to_numpy()),
    )
    cases = _attach_case_fields(cases, members, ref, rng_for(seed, 9), seed)
    return cases, members, residents


def _make_history(
    cases: pl.DataFrame,
    members: pl.DataFrame,
    plants: list[Plant],
    counts: dict[str, int],
    picker: Picker,
    seed: int,
    tf: TimeFrame,
    cal: DayCal,
    ref,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Stage 3: the year's events, then the event-level anomalies that shape them (added to
    `plants`, with the 万盛 case's V02 and the submission day of V07/V16's approval).
    Returns cases, members, events, the recipients' deaths and the initial versions."""
    events, deaths, init = build_events(rng_for(seed, 10), cases, members, tf, cal, ref)
    wan_ids = cases.filter(pl.col("wansheng"))["case_id"].to_list()
    events = events.filter(~pl.col("case_id").is_in(wan_ids) | (pl.col("etype") == "app"))
    names = [t[0] for t in TEMPLATES]
    cases, members, events, more = plant_event_level(
        cases, members, events, counts, picker, tf, cal, ref, names
    )
    plants += more
    if counts["V02"] > 0:
        wid = wan_ids[0]
        sub = int(events.filter(pl.col("case_id") == wid)["sub"][0])
        plants.append(Plant("V02", wid, folder=WANSHENG_CODE, data={"sub": sub}))
    plan_hosts = [p for p in plants if p.rule in ("V07", "V16")]
    ap = events.filter(
        pl.col("case_id").is_in([p.case_id for p in plan_hosts]) & (pl.col("etype") == "approve")
    )
    approve_sub = dict(zip(ap["case_id"].to_list(), ap["sub"].to_list(), strict=True))
    for p in plan_hosts:
        p.data["sub"] = int(approve_sub.get(p.case_id, -1))
    # the account holder is the head (after X08 merged identities), except where X09 shares an account
    cases = _refresh_holders(cases, members, plants)
    return cases, members, events, deaths, init


def _make_versions(
    cases: pl.DataFrame,
    members: pl.DataFrame,
    events: pl.DataFrame,
    init: pl.DataFrame,
    plants: list[Plant],
    seed: int,
    ref,
) -> tuple[pl.DataFrame, _RowContext, pl.DataFrame, dict[int, dict[str, str]]]:
    """Stage 4: versions and their benefits, then the rows of the planted versions, edited
    (member rows of the others are built town by town when the files are written). Returns
    the versions, the row context (cases with case numbers, members with show_phone), the
    planted rows and their raw-text overrides."""
    cases = cases.with_columns(case_no=assign_case_numbers(cases))
    members = members.with_columns(show_phone=pl.Series(rng_for(seed, 13).random(members.height) < 0.35))
    versions = version_table(events, cases, init).join(cases.select("case_id", "program"), on="case_id")
    versions = _with_benefits(versions, members, cases, ref)
    folder_of = {p.case_id: p.folder for p in plants if p.rule == "V02" and p.folder}
    staff = _staff_frame(rng_for(seed, 11), cases["town_code"].unique().sort().to_list())
    ctx = _RowContext(
        members=members, cases=cases, staff=staff, folder_of=folder_of, labels=_program_labels(ref)
    )
    _attach_version_ids(plants, versions)
    host_vids = sorted({p.version_id for p in plants if p.version_id >= 0})
    host_rows = _rows_for(versions.filter(pl.col("version_id").is_in(host_vids)), ctx)
    host_rows, overrides = plant_row_level(host_rows, plants, rng_for(seed, 12))
    return versions, ctx, host_rows, overrides


def _attach_version_ids(plants: list[Plant], versions: pl.DataFrame) -> None:
    """Each P/V plant learns the version (filed on its submission day) that carries it."""
    keys = [(p.case_id, p.data["sub"]) for p in plants if p.rule[0] in "PV" and "sub" in p.data]
    if not keys:
        return
    look = pl.DataFrame(
        {"case_id": [k[0] for k in keys], "sub": [k[1] for k in keys]},
        schema={"case_id": pl.Int64, "sub": pl.Int64},
    )
    found = look.join(
        versions.select("case_id", pl.col("sub").cast(pl.Int64), "version_id"), on=["case_id", "sub"]
    )
    vid_of = {(c, sub): int(v) for c, sub, v in found.iter_rows()}
    for p in plants:
        if p.rule[0] in "PV" and "sub" in p.data:
            p.version_id = vid_of.get((p.case_id, p.data["sub"]), -1)


# ---------------------------------------------------------------- cases and people


def _add_wansheng_case(cases: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """One application from a Wansheng folder (not a Qijiang town: every case fails V02)."""
    cand = cases.filter(~pl.col("baseline") & (pl.col("family") == "dibao"))
    row = cand.slice(int(rng.integers(0, cand.height)), 1).with_columns(
        case_id=pl.lit(cases.height, dtype=pl.Int64),
        town_code=pl.lit(WANSHENG_CODE),
        town_kind=pl.lit("镇"),
        program=pl.lit("dibao_rural"),
        status_event=pl.lit("none"),
        resume=pl.lit(False),
    )
    return pl.concat([cases, row])


def _member_names(rng: np.random.Generator, members: pl.DataFrame) -> pl.Series:
    """Children and grandchildren take the household's surname; spouses and parents their own."""
    n = members.height
    case_ids = members["case_id"].to_numpy()
    fam_surname = rng.choice(len(SURNAMES), size=int(case_ids.max()) + 1, p=SURNAME_P)
    own = rng.choice(len(SURNAMES), size=n, p=SURNAME_P)
    rule = members["rule"].to_numpy()
    keep_family = np.isin(rule, ["head", "child", "dis_child", "grandchild", "minor_sib", "sibling"])
    keep_family |= (rule == "parent") & members["male"].to_numpy()
    surname = np.where(keep_family, fam_surname[case_ids], own)
    return make_names(rng, members["male"].to_numpy(), surname)


def _attach_case_fields(
    cases: pl.DataFrame, members: pl.DataFrame, ref, rng: np.random.Generator, seed: int
) -> pl.DataFrame:
    """Account, village, phone, publicity exemption of every case."""
    n = cases.height
    acc = make_accounts(
        rng, n, offset=(seed % 997) * 1_000_003, rural=(cases["program"] == "dibao_rural").to_numpy()
    )
    towns = ref["towns"]
    villages = make_villages(rng, towns)
    villages[WANSHENG_CODE] = ["南桐社区", "红岩村"]
    vil = [
        villages[t][int(i) % len(villages[t])]
        for t, i in zip(cases["town_code"].to_list(), rng.integers(0, 1000, n), strict=True)
    ]
    heads = members.filter(pl.col("slot") == 0).select("case_id", account_holder="name")
    minor_age = ref.eligibility("tekun_minor_publicity_age", date(2025, 1, 1))
    nopub = (
        members.join(cases.select("case_id", "decided", "family"), on="case_id")
        .filter(pl.col("covered"))
        .group_by("case_id")
        .agg(
            no_publicity=(pl.col("family").first() == "tekun")
            & (age_on_expr(pl.col("birth"), pl.col("decided").cast(pl.Int32).cast(pl.Date)) < minor_age).all()
        )
    )
    return (
        cases.with_columns(
            bank=acc["bank"], account_no=acc["account_no"], village=pl.Series(vil), phone=make_phones(rng, n)
        )
        .join(heads, on="case_id", how="left")
        .join(nopub, on="case_id", how="left")
        .with_columns(pl.col("no_publicity").fill_null(False))
    )


def _refresh_holders(cases: pl.DataFrame, members: pl.DataFrame, plants: list[Plant]) -> pl.DataFrame:
    heads = members.filter(pl.col("slot") == 0).select("case_id", holder="name")
    shared = {p.partner for p in plants if p.rule == "X09"}
    return (
        cases.join(heads, on="case_id", how="left")
        .with_columns(
            account_holder=pl.when(pl.col("case_id").is_in(list(shared)))
            .then(pl.col("account_holder"))
            .otherwise(pl.col("holder"))
        )
        .drop("holder")
    )


def _staff_names(rng: np.random.Generator, towns: list[str]) -> dict[tuple[str, int], str]:
    out = {}
    for t in towns:
        numbers = rng.random() < 0.3
        names = make_names(rng, rng.random(3) < 0.5).to_list()
        for k in range(3):
            out[(t, k)] = f"QJ{t[-3:]}{int(rng.integers(1, 99)):02d}" if numbers else names[k]
    district = make_names(rng, np.array([True, False, True])).to_list()
    for t in towns:
        for k in range(3):
            out[(t, 100 + k)] = district[k]
    return out


HOUSEHOLD_TYPED = (
    "case_no", "town_code", "village", "program", "status", "applied_on", "received_on", "visited_on",
    "reviewed_on", "decided_on", "publicity_from", "publicity_to", "decided_level", "decided_by",
    "monthly_benefit_fen", "benefit_from", "rechecked_on", "bank", "account_no", "account_holder",
    "staff_relative", "complaint", "extended", "gradual_exit", "remark",
)  # fmt: skip
MEMBER_TYPED = (
    "name", "id_no", "relation", "covered", "disability_type", "disability_grade", "serious_illness",
    "schooling", "work_ability", "self_care", "annual_review_on", "monthly_income_fen",
)  # fmt: skip


def _yes_no(e: pl.Expr) -> pl.Expr:
    return pl.when(e).then(pl.lit("是")).otherwise(pl.lit("否"))


def _program_labels(ref) -> dict[str, str]:
    return {v: k for k, v in ref.code_map("program").items()}


def _staff_frame(rng: np.random.Generator, towns: list[str]) -> pl.DataFrame:
    staff = _staff_names(rng, towns)
    return pl.DataFrame(
        {
            "town_code": [k[0] for k in staff],
            "staff_key": [k[1] for k in staff],
            "decided_by": list(staff.values()),
        },
        schema={"town_code": pl.String, "staff_key": pl.Int64, "decided_by": pl.String},
    )


@dataclass
class _RowContext:
    """What building submission rows needs besides the versions themselves."""

    members: pl.DataFrame
    cases: pl.DataFrame
    staff: pl.DataFrame
    folder_of: dict[int, str]
    labels: dict[str, str]


BENEFIT_CHUNK_VERSIONS = 600_000


def _with_benefits(versions: pl.DataFrame, members: pl.DataFrame, cases: pl.DataFrame, ref) -> pl.DataFrame:
    """monthly_benefit of every version, computed a few towns at a time (bounded memory;
    every call of case_entitlement rebuilds its month table, so chunks are large)."""
    town = cases.select("case_id", "town_code")
    v = versions.join(town, on="case_id", how="left")
    per_town = v.group_by("town_code").len().sort("town_code")
    groups: list[list[str]] = [[]]
    size = 0
    for t, k in per_town.iter_rows():
        if groups[-1] and size + k > BENEFIT_CHUNK_VERSIONS:
            groups.append([])
            size = 0
        groups[-1].append(t)
        size += k
    parts = []
    for towns in groups:
        vt = v.filter(pl.col("town_code").is_in(towns)).drop("town_code")
        ids = vt["case_id"].unique().implode()
        rows = member_rows(vt, members.filter(pl.col("case_id").is_in(ids)))
        parts.append(version_benefits(vt, rows, ref).select("version_id", "benefit_fen"))
        del rows
    return versions.join(pl.concat(parts), on="version_id", how="left").sort("version_id")


def _version_fields(versions: pl.DataFrame, ctx: _RowContext) -> pl.DataFrame:
    """The household fields of versions (dates as day numbers), and where each is filed."""
    c = ctx.cases.filter(pl.col("case_id").is_in(versions["case_id"].unique().implode())).select(
        "case_id", "case_no", "town_code", "village", "bank", "account_no", "account_holder", "phone",
        "applied", "received", "visited", "reviewed", "pub_from", "pub_to", "benefit_from",
        staff_relative=_yes_no(pl.col("staff_relative")), complaint=_yes_no(pl.col("complaint")),
        extended=_yes_no(pl.col("extended")),
    )  # fmt: skip
    v = versions.select(
        "version_id", "case_id", "sub", "status", "show_visit", "show_review", "show_line", "show_publicity",
        "staff_key", "benefit_fen", "remark",
        decided_on="decided_day", decided_level="level", rechecked_on="recheck_day",
        program=pl.col("program").replace_strict(ctx.labels, return_dtype=pl.String),
        gradual_exit=_yes_no(pl.col("gradual")),
    )  # fmt: skip
    v = v.join(c, on="case_id", how="left").join(ctx.staff, on=["town_code", "staff_key"], how="left")
    out = v.select(
        "version_id",
        "case_id",
        pl.col("sub").cast(pl.Int64),
        _folder_expr(ctx.folder_of).alias("folder"),
        _family_expr().alias("family"),
        "phone",
        "case_no",
        "town_code",
        "village",
        "program",
        "status",
        applied_on="applied",
        received_on="received",
        visited_on=pl.when(pl.col("show_visit")).then(pl.col("visited")),
        reviewed_on=pl.when(pl.col("show_review")).then(pl.col("reviewed")),
        decided_on="decided_on",
        publicity_from=pl.when(pl.col("show_publicity")).then(pl.col("pub_from")),
        publicity_to=pl.when(pl.col("show_publicity")).then(pl.col("pub_to")),
        decided_level="decided_level",
        decided_by="decided_by",
        monthly_benefit_fen="benefit_fen",
        benefit_from=pl.when(pl.col("show_line")).then(pl.col("benefit_from")),
        rechecked_on="rechecked_on",
        bank="bank",
        account_no="account_no",
        account_holder="account_holder",
        staff_relative="staff_relative",
        complaint="complaint",
        extended="extended",
        gradual_exit="gradual_exit",
        remark="remark",
    )
    date_cols = ["applied_on", "received_on", "visited_on", "reviewed_on", "decided_on", "publicity_from",
                 "publicity_to", "benefit_from", "rechecked_on"]  # fmt: skip
    return out.with_columns([pl.col(c).cast(pl.Int64) for c in date_cols])


def _folder_expr(folder_of: dict[int, str]) -> pl.Expr:
    if not folder_of:
        return pl.col("town_code")
    return pl.col("case_id").replace_strict(folder_of, default=pl.col("town_code"), return_dtype=pl.String)


def _family_expr() -> pl.Expr:
    return (
        pl.when(pl.col("program").is_in(["城市低保", "农村低保", "dibao_urban", "dibao_rural"]))
        .then(pl.lit("dibao"))
        .otherwise(pl.lit("tekun"))
    )


def _member_fields(rows: pl.DataFrame) -> pl.DataFrame:
    """The member fields of every row of the given versions."""
    return rows.select(
        "version_id", "slot", "name", "id_no", "relation", "disability_type", "schooling", "work_ability",
        "self_care", "monthly_income_fen",
        row_uid=pl.col("version_id").cast(pl.Int64) * 1000 + pl.col("slot"),
        covered=_yes_no(pl.col("covered")),
        disability_grade=pl.col("disability_grade").replace_strict(GRADE_LABEL, default=None, return_dtype=pl.String),
        serious_illness=_yes_no(pl.col("serious_illness")),
        annual_review_on=pl.col("annual_review_day").cast(pl.Int64),
        own_phone="show_phone",
    )  # fmt: skip


def _rows_for(versions: pl.DataFrame, ctx: _RowContext) -> pl.DataFrame:
    """Every submission row (member row with its version's household fields) of these versions."""
    ids = versions["case_id"].unique().implode()
    rows = member_rows(versions, ctx.members.filter(pl.col("case_id").is_in(ids)))
    mt = _member_fields(rows)
    del rows
    vt = _version_fields(versions, ctx)
    out = mt.join(vt, on="version_id", how="inner").with_columns(
        phone=pl.when((pl.col("slot") == 0) | pl.col("own_phone")).then(pl.col("phone")),
        plain=pl.lit(False),
    )
    keep = [
        "row_uid",
        "version_id",
        "case_id",
        "slot",
        "sub",
        "folder",
        "family",
        "plain",
        *HOUSEHOLD_TYPED,
        *MEMBER_TYPED,
        "phone",
    ]
    return out.select(keep).sort("version_id", "slot")


# ---------------------------------------------------------------- submission files


FORMAT_WEIGHTS = {"xlsx": 0.45, "csv": 0.25, "xls": 0.15, "json": 0.15}
SHEETS = ("台账", "台账", "台账", "Sheet1", "{y}年{m}月", "低保台账")


def _file_name(
    style_no: int, town: str, town_name: str, day: date, fmt: str, part: str, baseline: bool
) -> str:
    ext = "." + fmt
    tag = {"": "", "dibao": "低保", "tekun": "特困", "p02": "补充", "resend": "补报"}[part]
    if baseline:
        return f"{town_name}存量{tag or '低保特困'}台账_{day:%Y%m%d}{ext}"
    if style_no == 0:
        return f"{town_name}{day.year}年{day.month}月{day.day}日{tag or '低保特困'}台账{ext}"
    if style_no == 1:
        return f"{town}_{day:%Y%m%d}{'_' + tag if tag else ''}{ext}"
    if style_no == 2:
        return f"{town_name.removesuffix('街道').removesuffix('镇')}_台账_{day:%Y-%m-%d}{tag}{ext}"
    return f"报送{day:%Y%m%d}-{town_name}{tag}{ext}"


def _draw(rng: np.random.Generator, p: tuple[float, ...]) -> int:
    """Index drawn with probabilities p (cheaper than Generator.choice for one draw)."""
    u = rng.random()
    acc = 0.0
    for i, w in enumerate(p):
        acc += w
        if u < acc:
            return i
    return len(p) - 1


def _choose_style(
    rng: np.random.Generator,
    fmt: str,
    encoding: str,
    town_name: str,
    day: date,
    part: str,
    baseline: bool,
    formats: str,
) -> FileStyle:
    excel = fmt in ("xlsx", "xls")
    u = rng.random(24)
    if excel:
        ds = _draw(rng, (0.30, 0.12, 0.06, 0.10, 0.08, 0.08, 0.16, 0.10))
    else:
        ds = _draw(rng, (0.40, 0.15, 0.08, 0.15, 0.10, 0.12))
    fam = {"dibao": "低保", "tekun": "特困"}.get(part, "低保特困")
    title = None
    if fmt != "json" and u[0] < 0.35:
        title = f"綦江区{town_name}{day.year}年{day.month}月{fam}{'存量' if baseline else ''}台账"
    subtitle = (
        f"填报单位：{town_name}    填报日期：{day.year}年{day.month}月{day.day}日"
        if title and u[1] < 0.4
        else None
    )
    notes = excel and u[2] < 0.12
    sheet = "台账" if notes else SHEETS[int(u[3] * len(SHEETS))].format(y=day.year, m=day.month)
    numbers_as_text = (not excel) or u[4] < 0.4
    return FileStyle(
        fmt=fmt,
        encoding=encoding,
        date_style=ds,
        month_style=_draw(rng, (0.6, 0.2, 0.1, 0.1)),
        money_style=_draw(rng, (0.7, 0.2, 0.1)),
        blank_zero_income=bool(u[5] < 0.3),
        blank_no=bool(u[6] < 0.25),
        fullwidth=bool(u[7] < 0.15),
        spaces=bool(u[8] < 0.3),
        lower_x=bool(u[9] < 0.3),
        legacy15=bool(u[10] < 0.2),
        header_style=_draw(rng, (0.65, 0.25, 0.10)),
        title=title,
        subtitle=subtitle,
        extra_phone=bool(u[11] < 0.3),
        extra_seq=bool(fmt != "json" and u[12] < 0.3),
        trailing_empty=_draw(rng, (0.7, 0.1, 0.1, 0.1)) if fmt != "json" else 0,
        numbers_as_text=numbers_as_text,
        town_code_numeric=bool(not numbers_as_text and u[13] < 0.5),
        member_first=bool(u[14] < 0.25),
        sheet=sheet,
        notes_sheet=bool(notes),
        json_numbers=bool(fmt == "json" and u[15] < 0.5),
    )


def _write_submissions(
    home: Home,
    versions: pl.DataFrame,
    ctx: _RowContext,
    host_rows: pl.DataFrame,
    overrides: dict,
    plants: list[Plant],
    picker: Picker,
    tf: TimeFrame,
    ref,
    town_names: dict,
    formats: str,
    seed: int,
    say: Progress,
) -> tuple[dict[str, int], dict[int, str], int, int]:
    """Assign every version (and a few copies) to a file, then write the inbox folder by folder."""
    rng = rng_for(seed, 30)
    base_day = to_days(tf.baseline_as_of)
    subs_now = np.array([to_days(d) for d in tf.submission_days])
    vs = _filed_versions(versions, ctx, host_rows)
    clean = ~vs["case_id"].is_in(np.flatnonzero(picker.used).tolist()).to_numpy()
    copies = [_clean_resends(rng, vs, clean, subs_now, base_day, to_days(tf.as_of))]
    p02 = _p02_copies(rng, vs, clean, plants, subs_now)
    copies += p02.copies
    spec_schema = {"version_id": vs["version_id"].dtype, "sub": pl.Int64, "copy": pl.Int64}
    copy_spec = pl.concat([c.cast(spec_schema) for c in copies])
    copy_spec = copy_spec.unique(["version_id", "sub", "copy"], maintain_order=True)
    placed, keys = _place_in_files(rng, vs, copy_spec, base_day, plants)
    files = _plan_files(rng, home, keys, town_names, formats, base_day, p02.drop_field)
    placed = placed.join(files.fmap, on=["folder", "sub", "part"], how="left")
    plant_vids = {p.version_id for p in plants if p.version_id >= 0}
    first = placed.filter((pl.col("copy") == 0) & pl.col("version_id").is_in(list(plant_vids)))
    file_of_version = {
        int(v): files.rel[int(f)] for v, f in zip(first["version_id"], first["file_id"], strict=True)
    }
    for tag, p in p02.plant_of.items():
        p.file = files.rel[int(placed.filter(pl.col("copy") == tag)["file_id"][0])]
    counts, n_rows = _write_inbox(
        home, versions, vs, ctx, host_rows, overrides, placed, files, ref, town_names, seed, say
    )
    counts.update(_odd_files(home, plants, tf, town_names, files.paths, files.mtimes, files.styles, seed))
    n_cases = vs.select("town_code", "case_id").unique().height
    return dict(counts), file_of_version, n_rows, n_cases


def _filed_versions(versions: pl.DataFrame, ctx: _RowContext, host_rows: pl.DataFrame) -> pl.DataFrame:
    """Each version with where it is filed (folder, family), its row count (a planted one's
    own) and the case's next version's submission day."""
    size = ctx.members.group_by("case_id").agg(n=pl.len().cast(pl.Int64))
    host_n = host_rows.group_by("version_id").agg(n=pl.len().cast(pl.Int64))
    towns = ctx.cases.select("case_id", "town_code", "case_no")
    return (
        versions.join(towns, on="case_id", how="left")
        .select(
            "version_id",
            "case_id",
            pl.col("sub").cast(pl.Int64),
            "status",
            _folder_expr(ctx.folder_of).alias("folder"),
            _family_expr().alias("family"),
            "town_code",
        )
        .join(size, on="case_id", how="left")
        .update(host_n, on="version_id")
        .sort("case_id", "sub")
        .with_columns(next_sub=pl.col("sub").shift(-1).over("case_id"))
    )


def _clean_resends(
    rng: np.random.Generator,
    vs: pl.DataFrame,
    clean: np.ndarray,
    subs_now: np.ndarray,
    base_day: int,
    as_of_d: int,
) -> pl.DataFrame:
    """Clean re-sends: about 2% of clean versions sent again unchanged on the next submission
    day (before the case's next version). Copy 1 of those versions."""
    idx = np.searchsorted(subs_now, vs["sub"].to_numpy(), side="right")
    nxt = np.where(idx < len(subs_now), subs_now[np.minimum(idx, len(subs_now) - 1)], 10**9)
    ok = (
        (vs["sub"].to_numpy() > base_day)
        & (nxt < vs["next_sub"].fill_null(10**9).to_numpy())
        & (nxt <= as_of_d)
        & clean
        & (vs["status"].to_numpy() != "作废")
        & (rng.random(vs.height) < 0.02)
    )
    return pl.DataFrame(
        {
            "version_id": vs["version_id"].to_numpy()[ok],
            "sub": nxt[ok],
            "copy": np.ones(int(ok.sum()), dtype=np.int64),
        }
    )


@dataclass
class _P02Files:
    """The P02 files: copies of current versions (copy tags 100, 101, ...), the field each
    file lacks by tag, and the plant each tag stands for."""

    copies: list[pl.DataFrame]
    drop_field: dict[int, str]
    plant_of: dict[int, Plant]


def _p02_copies(
    rng: np.random.Generator, vs: pl.DataFrame, clean: np.ndarray, plants: list[Plant], subs_now: np.ndarray
) -> _P02Files:
    """P02: a file missing a required column, filed by a town on a later submission day with
    copies of a few of its current versions (the file is rejected whole)."""
    last = vs.filter(
        pl.col("next_sub").is_null()
        & pl.Series(clean)
        & (pl.col("status") != "作废")
        & (pl.col("folder") == pl.col("town_code"))
    )
    last = last.sort("town_code", "sub", "version_id")
    l_town = last["town_code"].to_numpy()
    l_sub = last["sub"].to_numpy()
    l_vid = last["version_id"].to_numpy()
    drop_cycle = ("program", "id_no", "case_no", "status")
    out = _P02Files(copies=[], drop_field={}, plant_of={})
    for k, plant in enumerate(p for p in plants if p.rule == "P02"):
        if last.height == 0:
            break
        for _attempt in range(30):
            i = int(rng.integers(0, last.height))
            later = subs_now[(subs_now > l_sub[i])]
            if later.size:
                break
        if later.size == 0:
            continue
        day = int(later[int(rng.integers(0, later.size))])
        same = np.flatnonzero((l_town == l_town[i]) & (l_sub < day))
        pick = [int(l_vid[i])] + [
            int(v) for v in l_vid[rng.choice(same, size=min(3, same.size), replace=False)] if v != l_vid[i]
        ]
        tag = 100 + k
        out.copies.append(
            pl.DataFrame({"version_id": pick, "sub": [day] * len(pick), "copy": [tag] * len(pick)})
        )
        out.drop_field[tag] = drop_cycle[k % len(drop_cycle)]
        out.plant_of[tag] = plant
    return out


def _place_in_files(
    rng: np.random.Generator, vs: pl.DataFrame, copy_spec: pl.DataFrame, base_day: int, plants: list[Plant]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One file per town and submission day, sometimes two (低保 / 特困: half the baseline
    days, a fifth of the others), each P02 file apart. Returns every placed version (its
    `part`) and the files' keys (folder, sub, part) with their row count and whether one
    holds a V04 version."""
    orig = vs.select("version_id", "folder", "sub", "family", "n", copy=pl.lit(0, dtype=pl.Int64))
    cp = copy_spec.join(vs.select("version_id", "folder", "family", "n"), on="version_id", how="left").select(
        orig.columns
    )
    placed = pl.concat([orig, cp])
    day_keys = placed.filter(pl.col("copy") < 100).select("folder", "sub").unique().sort("folder", "sub")
    split = day_keys.with_columns(
        split=pl.Series(rng.random(day_keys.height))
        < pl.when(pl.col("sub") == base_day).then(0.5).otherwise(0.2)
    )
    placed = (
        placed.join(split, on=["folder", "sub"], how="left")
        .with_columns(
            part=pl.when(pl.col("copy") >= 100)
            .then(pl.format("p{}", pl.col("copy")))
            .when(pl.col("split"))
            .then(pl.col("family"))
            .otherwise(pl.lit(""))
        )
        .drop("split")
    )
    v04 = {p.version_id for p in plants if p.rule == "V04"}
    keys = (
        placed.group_by("folder", "sub", "part")
        .agg(n=pl.col("n").sum(), v04=pl.col("version_id").is_in(list(v04)).any())
        .sort("folder", "sub", "part")
    )
    return placed, keys


@dataclass
class _FilePlan:
    """Every submission file by file_id: its style, path (and relative to the home),
    modification and creation times; `fmap` maps (folder, sub, part) to file_id."""

    styles: dict[int, FileStyle]
    paths: dict[int, Path]
    rel: dict[int, str]
    mtimes: dict[int, float]
    created: dict[int, datetime]
    fmap: pl.DataFrame


def _plan_files(
    rng: np.random.Generator,
    home: Home,
    keys: pl.DataFrame,
    town_names: dict,
    formats: str,
    base_day: int,
    p02_drop: dict[int, str],
) -> _FilePlan:
    """Each file's format, encoding, style, name and times. A town mostly keeps its favourite
    format and its naming habit; the files of one day are stamped a minute or two apart."""
    town_pref = {t: _pick_format(rng) for t in sorted(town_names)}
    town_style = {t: int(rng.integers(0, 4)) for t in sorted(town_names)}
    town_index = {t: i for i, t in enumerate(sorted(town_names))}
    plan = _FilePlan(styles={}, paths={}, rel={}, mtimes={}, created={}, fmap=pl.DataFrame())
    file_rows = []
    for fid, (folder, sub, part, nrows, has_v04) in enumerate(keys.iter_rows()):
        day = from_days(sub)
        baseline = sub == base_day
        fmt, enc = _file_format(rng, town_pref[folder], formats, nrows, has_v04)
        tag = "p02" if part.startswith("p") else part
        style = _choose_style(rng, fmt, enc, town_names[folder], day, tag, baseline, formats)
        name = _file_name(town_style[folder], folder, town_names[folder], day, fmt, tag, baseline)
        if part.startswith("p"):
            style = FileStyle(**{**style.__dict__, "drop_field": p02_drop[int(part[1:])]})
            name = name.replace(f".{fmt}", f"({int(part[1:]) - 99}).{fmt}")
        plan.styles[fid] = style
        plan.paths[fid] = home.inbox / folder / ("baseline" if baseline else f"{day:%Y-%m}") / name
        plan.rel[fid] = plan.paths[fid].relative_to(home.root).as_posix()
        minute = 1 + 2 * town_index[folder] + (7 if part == "tekun" else 0) + (12 if tag == "p02" else 0)
        plan.mtimes[fid] = shanghai_timestamp(day, 9, min(minute, 59))
        plan.created[fid] = datetime(day.year, day.month, day.day, 8, 30)
        file_rows.append((folder, sub, part, fid))
    plan.fmap = pl.DataFrame(
        file_rows,
        schema={"folder": pl.String, "sub": pl.Int64, "part": pl.String, "file_id": pl.Int64},
        orient="row",
    )
    return plan


def _file_format(
    rng: np.random.Generator, town_pref: str, formats: str, nrows: int, has_v04: bool
) -> tuple[str, str]:
    """A file's format and encoding: the town's favourite 70% of the time (with `mixed`), no
    .xls past its row limit, no JSON for a V04 file; CSV in one of three encodings."""
    fmt = (town_pref if rng.random() < 0.7 else _pick_format(rng)) if formats == "mixed" else formats
    if fmt == "xls" and nrows > XLS_MAX_ROWS:
        fmt = "xlsx" if formats == "mixed" else "csv"
    if fmt == "json" and has_v04:  # a JSON case has its household fields once: V04 cannot be shown
        fmt = "csv"
    enc = "utf-8"
    if fmt == "csv" and formats == "mixed":
        enc = ("utf-8", "utf-8-sig", "gb18030")[_draw(rng, (0.4, 0.3, 0.3))]
    elif fmt == "json" and rng.random() < 0.2:
        enc = "utf-8-sig"
    return fmt, enc


def _write_inbox(
    home: Home,
    versions: pl.DataFrame,
    vs: pl.DataFrame,
    ctx: _RowContext,
    host_rows: pl.DataFrame,
    overrides: dict,
    placed: pl.DataFrame,
    files: _FilePlan,
    ref,
    town_names: dict,
    seed: int,
    say: Progress,
) -> tuple[Counter, int]:
    """Write every file, one inbox folder at a time (bounded memory). Returns the files
    written by format and the member rows written (copies left out)."""
    styles = files.styles
    all_styles = style_frame(styles)
    choices = header_choices(ref["header_synonyms"])
    hrng = rng_for(seed, 32)
    headers = {
        fid: headers_for(file_fields(styles[fid]), styles[fid].header_style, choices, hrng)
        for fid in sorted(styles)
    }
    host_versions = set(host_rows["version_id"].unique().to_list())
    counts: Counter = Counter()
    n_rows = 0
    v_folder = (
        versions.with_columns(
            folder=pl.col("version_id").replace_strict(
                dict(zip(vs["version_id"].to_list(), vs["folder"].to_list(), strict=True)),
                return_dtype=pl.String,
            )
        )
        if ctx.folder_of
        else versions.join(ctx.cases.select("case_id", folder="town_code"), on="case_id", how="left")
    )
    by_folder_v = v_folder.partition_by("folder", as_dict=True, include_key=False)
    del v_folder
    placed_f = placed.partition_by("folder", as_dict=True, include_key=False)
    made: set[Path] = set()
    done_files = 0
    for f_idx, folder in enumerate(sorted(town_names)):
        if (folder,) not in by_folder_v:
            continue
        rows = _rows_for(
            by_folder_v.pop((folder,)).filter(~pl.col("version_id").is_in(list(host_versions))), ctx
        )
        rows = pl.concat([rows, host_rows.filter(pl.col("folder") == folder)])
        rows = _folder_rows(rows, placed_f[(folder,)], folder)
        n_rows += rows.filter(pl.col("copy") == 0).height
        fids = rows["file_id"].unique().to_list()
        formatted = format_rows(
            rows, all_styles.filter(pl.col("file_id").is_in(fids)), rng_for(seed, 1000 + f_idx)
        )
        del rows
        formatted = _apply_overrides(formatted, overrides)
        for (fid,), frame in sorted(
            formatted.partition_by("file_id", as_dict=True, maintain_order=True).items()
        ):
            path = files.paths[fid]
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            _write_file(path, frame, styles[fid], headers[fid], files.created[fid])
            os.utime(path, (files.mtimes[fid], files.mtimes[fid]))
            counts[styles[fid].fmt] += 1
            done_files += 1
        say("files", done_files, len(styles))
    return counts, n_rows


def _folder_rows(rows: pl.DataFrame, pf: pl.DataFrame, folder: str) -> pl.DataFrame:
    """A folder's rows with their file, the copies (re-sends, P02) added, in file order."""
    rows = rows.join(
        pf.filter(pl.col("copy") == 0).select("version_id", "part", "file_id"),
        on="version_id",
        how="left",
    )
    extra = pf.filter(pl.col("copy") > 0).select("version_id", "sub", "copy", "part", "file_id")
    if extra.height:
        dup = (
            rows.drop("sub", "part", "file_id")
            .join(extra, on="version_id", how="inner")
            .select(rows.columns + ["copy"])
        )
        rows = pl.concat([rows.with_columns(copy=pl.lit(0, dtype=pl.Int64)), dup])
    else:
        rows = rows.with_columns(copy=pl.lit(0, dtype=pl.Int64))
    return rows.with_columns(
        order_key=pl.col("version_id").cast(pl.Int64) * 1000 + pl.col("copy"),
        folder=pl.lit(folder),
    ).sort("file_id", "case_no", "copy", "version_id", "slot")


def _write_file(
    path: Path, frame: pl.DataFrame, style: FileStyle, headers: list[str], created: datetime
) -> None:
    """One submission file in its format."""
    fields = file_fields(style)
    if style.fmt == "csv":
        write_csv(path, frame, style, headers, fields)
    elif style.fmt == "xlsx":
        write_xlsx(path, frame, style, headers, fields, created)
    elif style.fmt == "xls":
        write_xls(path, frame, style, headers, fields)
    else:
        write_json(path, frame, style, headers, fields)


def _apply_overrides(formatted: pl.DataFrame, overrides: dict[int, dict[str, str]]) -> pl.DataFrame:
    """Raw text for values that are not of their type (P03)."""
    here = set(formatted["row_uid"].to_list()) & set(overrides) if overrides else set()
    if not here:
        return formatted
    for fld in sorted({f for uid in here for f in overrides[uid]}):
        m = {uid: overrides[uid][fld] for uid in here if fld in overrides[uid]}
        formatted = formatted.with_columns(
            pl.when(pl.col("row_uid").is_in(list(m)) & (pl.col("order_key") % 1000 == 0))
            .then(pl.col("row_uid").replace_strict(m, default=None, return_dtype=pl.String))
            .otherwise(pl.col(fld))
            .alias(fld)
        )
    return formatted


def resolve_p02(plants: list[Plant]) -> int:
    return sum(1 for p in plants if p.rule == "P02")


def _pick_format(rng: np.random.Generator) -> str:
    keys = list(FORMAT_WEIGHTS)
    return keys[_draw(rng, tuple(FORMAT_WEIGHTS[k] for k in keys))]


def _odd_files(
    home: Home,
    plants: list[Plant],
    tf: TimeFrame,
    town_names: dict,
    paths: dict,
    mtimes: dict,
    styles: dict,
    seed: int,
) -> Counter:
    """P01 garbage files, an Excel lock file, a dotfile, a symlink."""
    rng = rng_for(seed, 33)
    out: Counter = Counter()
    towns = sorted(t for t in town_names if t != WANSHENG_CODE)
    for k, p in enumerate(p for p in plants if p.rule == "P01"):
        town = towns[int(rng.integers(0, len(towns)))]
        day = tf.submission_days[int(rng.integers(0, len(tf.submission_days)))]
        path = home.inbox / town / f"{day:%Y-%m}" / f"{town_names[town]}{day:%Y%m%d}台账(损坏{k + 1}).xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        junk = b"PK\x03\x04" + rng.integers(0, 256, int(rng.integers(3000, 9000)), dtype=np.uint8).tobytes()
        path.write_bytes(junk)
        ts = shanghai_timestamp(day, 9, 50)
        os.utime(path, (ts, ts))
        p.file = path.relative_to(home.root).as_posix()
        out["garbage"] += 1
    excel = [fid for fid in sorted(paths) if styles[fid].fmt == "xlsx"]
    if excel:
        fid = excel[int(rng.integers(0, len(excel)))]
        lock = paths[fid].with_name("~$" + paths[fid].name)
        lock.write_bytes(b"\x0cjiuzhu-clerk" + b"\x00" * 40 + "科员".encode("utf-16-le") + b"\x00" * 100)
        os.utime(lock, (mtimes[fid] + 60, mtimes[fid] + 60))
        out["temp"] += 1
    last_town = towns[int(rng.integers(0, len(towns)))]
    dot = home.inbox / last_town / ".DS_Store"
    dot.parent.mkdir(parents=True, exist_ok=True)
    dot.write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    ts = shanghai_timestamp(tf.submission_days[0], 8, 0)
    os.utime(dot, (ts, ts))
    out["dotfile"] += 1
    real = [fid for fid in sorted(paths) if paths[fid].parent.parent.name == last_town]
    if real:
        target = paths[real[-1]]
        link = home.inbox / last_town / ("最新台账" + target.suffix)
        os.symlink(os.path.relpath(target, link.parent), link)
        os.utime(link, (mtimes[real[-1]], mtimes[real[-1]]), follow_symlinks=False)
        out["symlink"] += 1
    return out


# ---------------------------------------------------------------- registries


def _write_registries(
    home: Home,
    members: pl.DataFrame,
    residents: pl.DataFrame,
    plants: list[Plant],
    deaths: pl.DataFrame,
    tf: TimeFrame,
    ref,
    seed: int,
) -> tuple[dict[str, int], int]:
    rng = rng_for(seed, 40)
    m = members.with_columns(head=pl.col("slot") == 0)
    first = m.unique("id_no", keep="first", maintain_order=True)
    persons = pl.concat(
        [
            first.select(
                "id_no",
                "name",
                "birth",
                "case_id",
                "slot",
                "covered",
                "pension_fen",
                "work_fen",
                "head",
                recipient=pl.lit(True),
            ),  # fmt: skip
            residents.select(
                "id_no",
                "name",
                "birth",
                case_id=pl.lit(-1, dtype=pl.Int64),
                slot=pl.lit(-1, dtype=m["slot"].dtype),
                covered=pl.lit(False),
                pension_fen=pl.lit(0, dtype=pl.Int64),
                work_fen=pl.lit(0, dtype=pl.Int64),
                head=pl.lit(False),
                recipient=pl.lit(False),
            ),  # fmt: skip
        ],
        how="vertical_relaxed",
    ).with_row_index("pkey")
    # (case, slot) -> person, only for the people the extracts single out
    wanted = [(p.case_id, p.slot) for p in plants if p.rule[0] == "X" and p.slot >= 0]
    wanted += list(zip(deaths["case_id"].to_list(), deaths["slot"].to_list(), strict=True))
    look = pl.DataFrame(
        {"case_id": [w[0] for w in wanted], "slot": [w[1] for w in wanted]},
        schema={"case_id": pl.Int64, "slot": m["slot"].dtype},
    )
    keyed = look.join(members.select("case_id", "slot", "id_no"), on=["case_id", "slot"], how="left").join(
        persons.filter(pl.col("recipient")).select("id_no", "pkey"), on="id_no", how="left"
    )
    person_of = {(c, s): int(k) for c, s, _i, k in keyed.iter_rows()}
    pop = Population(persons)
    from synth.anomalies import _dibao_std_fen

    urban = _dibao_std_fen(ref, tf)["dibao_urban"]
    names = persons["name"]
    counts: Counter = Counter()
    rows = 0
    s_index = {src: i for i, src in enumerate(SOURCES)}
    e_index = {d: i for i, d in enumerate(tf.extract_dates)}
    made: set[Path] = set()
    for source, ed, frame in build_registries(rng, pop, plants, person_of, deaths, tf, urban):
        typed, _ = finish_extract(rng, frame, source, pop, names)
        del frame
        fmt = "parquet" if (s_index[source] + e_index[ed]) % 2 == 1 else "csv"
        path = home.registries / source / f"{ed:%Y-%m-%d}.{fmt}"
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        write_extract(path, typed, fmt)
        ts = shanghai_timestamp(ed, 18, 0)
        os.utime(path, (ts, ts))
        counts[fmt] += 1
        rows += typed.height
    return dict(counts), rows


# ---------------------------------------------------------------- ground truth


def _planted_ok(p: Plant, file_of_version: dict[int, str]) -> bool:
    if p.rule in ("P01", "P02"):
        return p.file is not None
    if p.rule in P_RULES + V_RULES:
        return p.version_id in file_of_version
    return True


def _ground_truth(
    plants: list[Plant], cases: pl.DataFrame, file_of_version: dict[int, str], members: pl.DataFrame
) -> list[dict[str, str]]:
    town = dict(zip(cases["case_id"].to_list(), cases["town_code"].to_list(), strict=True))
    case_no = dict(zip(cases["case_id"].to_list(), cases["case_no"].to_list(), strict=True))
    wanted = sorted({p.case_id for p in plants if p.case_id >= 0})
    sub = members.filter(pl.col("case_id").is_in(wanted))
    ids = {(c, s): i for c, s, i in sub.select("case_id", "slot", "id_no").iter_rows()}
    out = []
    for p in plants:
        if not _planted_ok(p, file_of_version):
            continue
        if p.rule in ("P01", "P02"):
            folder = p.file.split("/")[1]
            out.append({"rule_id": p.rule, "town_code": folder, "case_no": "", "id_no": "", "file": p.file})
            continue
        file = file_of_version.get(p.version_id, "") if p.rule in P_RULES + V_RULES else ""
        member_level = p.rule not in CASE_LEVEL_RULES and not (p.rule == "V03" and p.variant == "complaint")
        id_no = ""
        if member_level:
            id_no = p.id_no or ids.get((p.case_id, p.slot), "")
        tc = p.folder if p.rule == "V02" and p.folder else town[p.case_id]
        out.append(
            {"rule_id": p.rule, "town_code": tc, "case_no": case_no[p.case_id], "id_no": id_no, "file": file}
        )
        if p.rule in ("X08", "X09"):
            out.append(
                {
                    "rule_id": p.rule,
                    "town_code": town[p.partner],
                    "case_no": case_no[p.partner],
                    "id_no": id_no,
                    "file": "",
                }
            )
    out.sort(key=lambda r: (r["rule_id"], r["town_code"], r["case_no"], r["id_no"], r["file"]))
    return out


def _write_ground_truth(home: Home, rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(
        buf, fieldnames=["rule_id", "town_code", "case_no", "id_no", "file"], lineterminator="\n"
    )
    w.writeheader()
    w.writerows(rows)
    home.root.mkdir(parents=True, exist_ok=True)
    home.ground_truth.write_text(buf.getvalue(), encoding="utf-8")


def _write_synth_json(home: Home, s: SynthSummary, formats: str, tf: TimeFrame) -> None:
    month_ends = []
    d = tf.go_live
    while d <= tf.as_of:
        nxt = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
        month_ends.append(min(nxt - timedelta(days=1), tf.as_of).isoformat())
        d = nxt
    doc = {
        "generator": "jiuzhu synth",
        "seed": s.seed,
        "households": s.households,
        "formats": formats,
        "as_of": s.as_of.isoformat(),
        "go_live_month": s.go_live_month,
        "baseline_as_of": s.baseline_as_of.isoformat(),
        "submission_days": [d.isoformat() for d in s.submission_days],
        "month_ends": month_ends,
        "extract_dates": [d.isoformat() for d in s.extract_dates],
        "planted": s.planted,
        "ground_truth_rows": s.anomalies,
    }
    path = home.root / "synth.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for f in (path, home.ground_truth):
        ts = shanghai_timestamp(tf.as_of, 20, 0)
        os.utime(f, (ts, ts))


def _set_directory_times(root: Path, tf: TimeFrame) -> None:
    """Each folder's mtime = the newest entry inside (deterministic)."""
    fallback = shanghai_timestamp(tf.as_of, 20, 0)
    for dirpath, _dirnames, _files in sorted(os.walk(root), key=lambda t: -t[0].count(os.sep)):
        entries = [os.lstat(os.path.join(dirpath, e)).st_mtime for e in os.listdir(dirpath)]
        ts = max(entries) if entries else fallback
        os.utime(dirpath, (ts, ts))
