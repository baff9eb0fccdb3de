"""Who lives in each synthetic household (vectorised).

dibao households have 1–6 members (head, spouse, children, parents,
grandchildren, siblings), some of them not covered (a working son); tekun
households are 1–2 covered persons who cannot be expected to work: aged 60+,
minors, or adults with a qualifying disability. Ages are drawn at the case's
anchor date (the day its application was received) so that a member is
never born after the case began and a tekun elder is 60+ in every version.
Incomes stay below the standard of the anchor month (standards only rise).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synth.timeframe import month_start_days
from transforms.entitlement import month_constants

RELATION_LABEL = {
    "head": "户主",
    "spouse": "配偶",
    "eld_spouse": "配偶",
    "child": "子女",
    "dis_child": "子女",
    "parent": "父母",
    "grandchild": "孙子女",
    "sibling": "兄弟姐妹",
    "minor_sib": "兄弟姐妹",
}

# (name, family, slots, weight within family, head age range at the anchor)
TEMPLATES: tuple[tuple[str, str, tuple[str, ...], float, tuple[int, int]], ...] = (
    ("d1", "dibao", ("head",), 0.30, (30, 88)),
    ("d2s", "dibao", ("head", "spouse"), 0.12, (24, 85)),
    ("d2c", "dibao", ("head", "child"), 0.10, (26, 80)),
    ("d2p", "dibao", ("head", "parent"), 0.04, (24, 60)),
    ("d2b", "dibao", ("head", "sibling"), 0.02, (20, 80)),
    ("d3", "dibao", ("head", "spouse", "child"), 0.12, (26, 70)),
    ("d3g", "dibao", ("head", "child", "grandchild"), 0.04, (56, 85)),
    ("d3p", "dibao", ("head", "spouse", "parent"), 0.03, (24, 60)),
    ("d4", "dibao", ("head", "spouse", "child", "child"), 0.08, (28, 62)),
    ("d4g", "dibao", ("head", "spouse", "child", "grandchild"), 0.03, (56, 82)),
    ("d4p", "dibao", ("head", "spouse", "parent", "child"), 0.02, (28, 58)),
    ("d5", "dibao", ("head", "spouse", "child", "child", "parent"), 0.03, (30, 58)),
    ("d5g", "dibao", ("head", "spouse", "child", "grandchild", "grandchild"), 0.03, (56, 80)),
    ("d6", "dibao", ("head", "spouse", "parent", "parent", "child", "child"), 0.02, (30, 55)),
    ("d6g", "dibao", ("head", "spouse", "child", "child", "grandchild", "grandchild"), 0.02, (58, 80)),
    ("t_eld", "tekun", ("head",), 0.55, (60, 94)),
    ("t_eld2", "tekun", ("head", "eld_spouse"), 0.10, (62, 90)),
    ("t_dis", "tekun", ("head",), 0.18, (18, 59)),
    ("t_min", "tekun", ("head", "minor_sib"), 0.10, (4, 15)),
    ("t_dpair", "tekun", ("head", "dis_child"), 0.07, (60, 85)),
)
MAX_SLOTS = 6
QUALIFYING = (("智力", 3), ("精神", 3), ("肢体", 2), ("视力", 1), ("多重", 2))
DIS_TYPES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
DIS_TYPE_P = (0.12, 0.12, 0.05, 0.40, 0.12, 0.12, 0.07)
GRADE_LABEL = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def _uniform_int(rng: np.random.Generator, lo, hi) -> np.ndarray:
    """Integers uniform in [lo, hi] (arrays allowed; hi < lo gives lo)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    n = max(lo.size, hi.size)
    return lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)


def _birth_days(rng: np.random.Generator, anchor: np.ndarray, age: np.ndarray) -> np.ndarray:
    """A birth date making the person exactly `age` whole years old on `anchor`."""
    u = rng.integers(0, 360, len(age))
    return anchor - np.floor(age * 365.2425).astype(np.int64) - 2 - u


def choose_templates(
    rng: np.random.Generator, family: np.ndarray, program: np.ndarray, anchor: np.ndarray, as_of_days: int
) -> np.ndarray:
    """Template index per case, by family (集中特困 are single persons)."""
    names = [t[0] for t in TEMPLATES]
    out = np.zeros(len(family), dtype=np.int64)
    for fam in ("dibao", "tekun"):
        idx = [i for i, t in enumerate(TEMPLATES) if t[1] == fam]
        w = np.array([TEMPLATES[i][3] for i in idx])
        sel = family == fam
        out[sel] = np.array(idx)[rng.choice(len(idx), size=int(sel.sum()), p=w / w.sum())]
    central = program == "tekun_central"
    out[central] = np.where(rng.random(int(central.sum())) < 0.7, names.index("t_eld"), names.index("t_dis"))
    # tekun minors must still be under 16 at as_of (V10): too old an anchor -> an elder instead
    years = (as_of_days - anchor) / 365.2425
    too_old = (out == names.index("t_min")) & (15 - np.ceil(years) < 5)
    out[too_old] = names.index("t_eld")
    return out


def make_members(
    rng: np.random.Generator, cases: pl.DataFrame, tables: dict[str, pl.DataFrame], as_of_days: int
) -> pl.DataFrame:
    """One row per household member, without names and IDs (assigned later, jointly).

    cases: case_id, family, program, anchor (day number), template.
    """
    n_cases = cases.height
    tmpl = cases["template"].to_numpy()
    sizes_t = np.array([len(t[2]) for t in TEMPLATES])
    rel_t = np.full((len(TEMPLATES), MAX_SLOTS), "", dtype=object)
    for i, t in enumerate(TEMPLATES):
        rel_t[i, : len(t[2])] = t[2]
    sizes = sizes_t[tmpl]
    case_idx = np.repeat(np.arange(n_cases), sizes)
    offsets = np.repeat(np.cumsum(sizes) - sizes, sizes)
    slot = np.arange(len(case_idx)) - offsets
    mt = tmpl[case_idx]
    rule = rel_t[mt, slot].astype(str)
    n = len(case_idx)

    anchor_c = cases["anchor"].to_numpy().astype(np.int64)
    anchor = anchor_c[case_idx]
    fam = cases["family"].to_numpy()[case_idx]
    program = cases["program"].to_numpy()[case_idx]
    lo_t = np.array([t[4][0] for t in TEMPLATES])
    hi_t = np.array([t[4][1] for t in TEMPLATES])
    head_age_c = _uniform_int(rng, lo_t[tmpl], hi_t[tmpl])
    # tekun minors: young enough to stay under 16 until as_of
    years_c = np.ceil((as_of_days - anchor_c) / 365.2425).astype(np.int64)
    minor_cap_c = 15 - years_c
    is_min = tmpl == [t[0] for t in TEMPLATES].index("t_min")
    head_age_c[is_min] = _uniform_int(rng, np.full(int(is_min.sum()), 3), minor_cap_c[is_min])
    head_age = head_age_c[case_idx]

    age = np.where(rule == "head", head_age, 0)
    age = np.where(rule == "spouse", np.clip(head_age + _uniform_int(rng, np.full(n, -6), 6), 18, 95), age)
    age = np.where(rule == "eld_spouse", _uniform_int(rng, np.full(n, 60), 90), age)
    child_hi = np.minimum(36, head_age)
    age = np.where(
        rule == "child", np.clip(head_age - _uniform_int(rng, np.full(n, 20), child_hi), 0, 80), age
    )
    age = np.where(
        rule == "dis_child", np.clip(head_age - _uniform_int(rng, np.full(n, 22), 34), 18, 59), age
    )
    age = np.where(rule == "parent", np.clip(head_age + _uniform_int(rng, np.full(n, 20), 34), 40, 97), age)
    gc_hi = np.minimum(60, head_age)
    age = np.where(
        rule == "grandchild", np.clip(head_age - _uniform_int(rng, np.full(n, 42), gc_hi), 0, 30), age
    )
    age = np.where(rule == "sibling", np.clip(head_age + _uniform_int(rng, np.full(n, -10), 10), 16, 90), age)
    age = np.where(rule == "minor_sib", _uniform_int(rng, np.full(n, 1), np.maximum(head_age - 1, 1)), age)
    birth = _birth_days(rng, anchor, age)

    male_head = rng.random(n) < 0.58
    head_male_c = np.zeros(n_cases, dtype=bool)
    head_male_c[case_idx[rule == "head"]] = male_head[rule == "head"]
    head_male = head_male_c[case_idx]
    male = np.where(rule == "head", male_head, rng.random(n) < 0.5)
    male = np.where(np.isin(rule, ["spouse", "eld_spouse"]), ~head_male, male)

    # disability
    tekun = fam == "tekun"
    t_dis = [i for i, t in enumerate(TEMPLATES) if t[0] == "t_dis"]
    qual = (np.isin(mt, t_dis) & (rule == "head")) | (rule == "dis_child")
    dis = np.where(tekun, rng.random(n) < 0.22, rng.random(n) < 0.10) | qual
    dtype_i = rng.choice(len(DIS_TYPES), size=n, p=np.array(DIS_TYPE_P) / sum(DIS_TYPE_P))
    grade = rng.choice([1, 2, 3, 4], size=n, p=[0.12, 0.25, 0.35, 0.28])
    q_pick = rng.integers(0, len(QUALIFYING), n)
    q_type = np.array([q[0] for q in QUALIFYING])[q_pick]
    q_grade = _uniform_int(rng, np.ones(n), np.array([q[1] for q in QUALIFYING])[q_pick])
    dis_type = np.where(qual, q_type, np.array(DIS_TYPES)[dtype_i])
    dis_grade = np.where(qual, q_grade, grade)
    dis_type = np.where(dis, dis_type, "")
    dis_grade = np.where(dis, dis_grade, 0)

    illness = rng.random(n) < np.where(tekun, 0.08, np.where(age >= 60, 0.10, 0.04))
    # work ability (static, at the anchor)
    wa = np.full(n, "无", dtype=object)
    adult = (age >= 16) & (age <= 59)
    wa = np.where(adult, np.where(rng.random(n) < 0.5, "有", "部分"), wa)
    wa = np.where((age >= 60) & (age < 70), np.where(rng.random(n) < 0.5, "部分", "无"), wa)
    wa = np.where(dis & (dis_grade <= 2), "无", wa)
    wa = np.where(dis & (dis_grade >= 3) & (wa == "有"), "部分", wa)
    wa = np.where(tekun, "无", wa)

    # incomes (fen)
    pension = np.where((age >= 60) & (rng.random(n) < 0.6), _uniform_int(rng, np.full(n, 110), 260) * 100, 0)
    pension = pension + np.where((pension > 0) & (rng.random(n) < 0.5), 50, 0)
    work = np.where(wa == "有", _uniform_int(rng, np.full(n, 300), 1600) * 100, 0)
    part = (wa == "部分") & (age >= 16) & (age <= 64) & (rng.random(n) < 0.4)
    work = np.where(part, _uniform_int(rng, np.full(n, 100), 600) * 100, work)
    work = np.where(tekun, 0, work)
    # a working son or daughter is often not covered
    covered = np.ones(n, dtype=bool)
    covered &= ~(
        (rule != "head") & (wa == "有") & (work > 80_000) & (age >= 18) & (rng.random(n) < 0.45) & ~tekun
    )

    # cap: household per-capita income at most 78% of the anchor month's standard
    months = np.unique(month_start_days(anchor_c))
    consts = month_constants(tables, pl.Series(months.astype(np.int32)).cast(pl.Date).to_list())
    prog_c = cases["program"].to_numpy()
    month_c = month_start_days(anchor_c)
    month_dates = pl.Series(month_c.astype(np.int32)).cast(pl.Date)
    mframe = pl.DataFrame({"month": month_dates, "program": prog_c}).join(
        consts.select("month", "std_dibao_urban", "std_dibao_rural"), on="month", how="left"
    )
    urban_std = mframe["std_dibao_urban"].fill_null(strategy="min").to_numpy()
    rural_std = mframe["std_dibao_rural"].fill_null(strategy="min").to_numpy()
    std_c = np.where(prog_c == "dibao_urban", urban_std, rural_std)
    size_c = sizes
    cap_c = np.floor(0.78 * std_c * size_c).astype(np.int64)
    pen_c = np.bincount(case_idx, weights=pension, minlength=n_cases).astype(np.int64)
    work_c = np.bincount(case_idx, weights=work, minlength=n_cases).astype(np.int64)
    room_c = np.maximum(cap_c - pen_c, 0)
    scale_c = np.where(work_c > room_c, room_c / np.maximum(work_c, 1), 1.0)
    work = (np.floor(work * scale_c[case_idx] / 1000) * 1000).astype(np.int64)
    work = np.where(work < 10_000, 0, work)  # nobody earns under 100 yuan: income is 0 or >= 100
    wa = np.where((wa == "有") & (work == 0) & ~tekun, "部分", wa)

    # schooling flags (age-dependent value decided per version)
    in_school_1618 = rng.random(n) < 0.7
    # self-care class for tekun covered members
    central = program == "tekun_central"
    sc = np.where(
        central,
        rng.choice(["全护理", "半护理", "全自理"], size=n, p=[0.35, 0.35, 0.30]),
        rng.choice(["全自理", "半护理", "全护理"], size=n, p=[0.55, 0.30, 0.15]),
    )
    sc = np.where(tekun, sc, "")

    return pl.DataFrame(
        {
            "case_id": cases["case_id"].to_numpy()[case_idx],
            "slot": slot.astype(np.int32),
            "rule": rule,
            "relation": pl.Series(rule, dtype=pl.String).replace_strict(
                RELATION_LABEL, return_dtype=pl.String
            ),
            "birth": pl.Series(birth.astype(np.int32)).cast(pl.Date),
            "male": male,
            "covered": covered,
            "disability_type": pl.Series(dis_type.astype(str), dtype=pl.String).replace("", None),
            "disability_grade": pl.Series(dis_grade.astype(np.int64)).replace(0, None),
            "serious_illness": illness,
            "work_ability": pl.Series(wa.astype(str), dtype=pl.String),
            "self_care": pl.Series(sc.astype(str), dtype=pl.String).replace("", None),
            "pension_fen": pension.astype(np.int64),
            "work_fen": work,
            "school_1618": in_school_1618,
            "qual": qual,
        }
    )
