"""Spot-inspection sampling and error rates (SPEC §6): pure functions, no I/O.

The method (docs/spotcheck-method.md is the auditor's description):

- population of month P: the cases whose first approved version was ingested
  in P (baseline versions never; cases void at the draw excluded);
- per town, k = min(N, max(ceil(ratio x N), minimum)), computed exactly with
  the ratio as a decimal (never a binary float: 0.3 x 10 is 3, not 3.0000000000000004);
- mandatory cases (近亲属备案, 投诉举报, an open error finding at the draw) are
  always in, even beyond k;
- the remaining k - |mandatory| places go to the other cases with the smallest
  SHA-256(seed || town_code || case_no): the seed as its 32 raw bytes, then the
  UTF-8 bytes of the 9-digit town code, then the UTF-8 bytes of the case
  number, with no separator; digests compared as bytes (= lower-case hex
  compared as text), ties (never seen in practice) broken by case number.

`select_town` is the whole selection for one town in plain Python (the
verifier uses it on a manifest alone); `draw` applies it to a population frame.
Error rates use the Wilson score interval at 95% (`wilson_interval`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from statistics import NormalDist

import polars as pl

from transforms.submission import parse_date_expr
from transforms.text import clean_text_expr, fold_fullwidth_expr

METHOD = "jiuzhu-spotcheck-v1"
MANIFEST_VERSION = 1
SEED_BYTES = 32
Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054
ALL_PROGRAMS = "all"

# reasons a case is mandatory, in the order they are listed
REASON_STAFF_RELATIVE = "staff_relative"
REASON_COMPLAINT = "complaint"
REASON_OPEN_ERROR = "open_error"
REASON_LABELS_ZH = {
    REASON_STAFF_RELATIVE: "近亲属备案",
    REASON_COMPLAINT: "投诉举报",
    REASON_OPEN_ERROR: "有未结错误问题",
}

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


# ---------------------------------------------------------------- seed, hash, k


def parse_seed(text: str) -> bytes:
    """64 hex digits -> the 32-byte seed; ValueError otherwise."""
    value = (text or "").strip()
    if not _HEX64.match(value):
        raise ValueError("a spot-check seed is 64 hex digits (32 bytes)")
    return bytes.fromhex(value)


def seed_bytes(seed: bytes) -> bytes:
    """The seed, when it is the 32 raw bytes every case hash starts with (ValueError otherwise)."""
    if len(seed) != SEED_BYTES:
        raise ValueError(f"the seed must be {SEED_BYTES} bytes, got {len(seed)}")
    return seed


def hash_input(seed: bytes, town_code: str, case_no: str) -> bytes:
    """The exact bytes hashed: seed (32 raw bytes) || UTF-8 town_code || UTF-8 case_no."""
    return seed_bytes(seed) + town_code.encode("utf-8") + case_no.encode("utf-8")


def case_hash(seed: bytes, town_code: str, case_no: str) -> str:
    """SHA-256(seed || town_code || case_no) as lower-case hex."""
    return hashlib.sha256(hash_input(seed, town_code, case_no)).hexdigest()


def as_decimal(value: float | int | str | Decimal) -> Decimal:
    """A ratio or threshold as an exact decimal: 0.3 (float) -> Decimal('0.3')."""
    if isinstance(value, Decimal):
        return value
    try:
        # str() of a float is its shortest repr: 0.3 -> '0.3', never 0.299999...
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc


def decimal_text(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: Decimal('0.40') -> '0.4', Decimal('1.00') -> '1'."""
    text = format(value.normalize(), "f")
    return text


def sample_size(n: int, ratio: float | str | Decimal, minimum: int) -> int:
    """k = min(N, max(ceil(ratio x N), minimum)), exact."""
    if n < 0 or minimum < 0:
        raise ValueError("population and minimum cannot be negative")
    r = as_decimal(ratio)
    if r < 0 or r > 1:
        raise ValueError(f"a spot-check ratio lies between 0 and 1, got {r}")
    return min(n, max(math.ceil(r * n), minimum))


def town_ratio(
    base: float | str | Decimal,
    step: float | str | Decimal,
    cap: float | str | Decimal,
    threshold: float | str | Decimal,
    previous_ci_low: float | None,
) -> tuple[Decimal, bool]:
    """The ratio of a town for a month, and whether it was raised.

    Raised by `step` (capped at `cap`) when the town's previous month's 95%
    lower bound over all programs exceeds `threshold` (strictly); otherwise the
    base ratio. No inspected case (None) never raises.
    """
    b, s, c, t = (as_decimal(x) for x in (base, step, cap, threshold))
    if previous_ci_low is not None and as_decimal(previous_ci_low) > t:
        return min(c, b + s), True
    return b, False


# ---------------------------------------------------------------- selection


@dataclass(frozen=True)
class TownSelection:
    town_code: str
    population: int
    k: int
    mandatory: tuple[str, ...]  # sorted by case number
    selected: tuple[str, ...]  # mandatory first (by case number), then by hash
    hashes: dict[str, str]  # case_no -> hex digest, every population case


def select_town(
    seed: bytes,
    town_code: str,
    case_nos: Iterable[str],
    mandatory: Iterable[str],
    ratio: float | str | Decimal,
    minimum: int,
) -> TownSelection:
    """The sample of one town: mandatory cases, then the smallest hashes up to k."""
    members = set(case_nos)
    population = sorted(members)
    must = sorted(set(mandatory))
    missing = [c for c in must if c not in members]  # one set, not one per mandatory case
    if missing:
        raise ValueError(f"mandatory case(s) not in the population of town {town_code}: {missing}")
    k = sample_size(len(population), ratio, minimum)
    hashes = {c: case_hash(seed, town_code, c) for c in population}
    must_set = set(must)
    others = sorted((c for c in population if c not in must_set), key=lambda c: (hashes[c], c))
    places = max(0, k - len(must))
    return TownSelection(town_code, len(population), k, tuple(must), tuple(must + others[:places]), hashes)


POPULATION_SCHEMA = {
    "town_code": pl.String,
    "case_no": pl.String,
    "program": pl.String,
    "staff_relative": pl.Boolean,
    "complaint": pl.Boolean,
    "open_error_rules": pl.String,
}
RATIO_SCHEMA = {"town_code": pl.String, "ratio": pl.String, "minimum_per_town": pl.Int64}


def mandatory_reasons_expr() -> pl.Expr:
    """The mandatory reasons of a population row, as codes joined with ','."""
    return pl.concat_str(
        [
            pl.when(pl.col("staff_relative").fill_null(False)).then(pl.lit(REASON_STAFF_RELATIVE)),
            pl.when(pl.col("complaint").fill_null(False)).then(pl.lit(REASON_COMPLAINT)),
            pl.when(pl.col("open_error_rules").fill_null("") != "").then(pl.lit(REASON_OPEN_ERROR)),
        ],
        separator=",",
        ignore_nulls=True,
    ).replace("", None)


def case_hashes(frame: pl.DataFrame, seed: bytes) -> pl.Series:
    """`case_hash` of every row's town_code and case_no."""
    return pl.Series("hash_hex", [case_hash(seed, t, c) for t, c in zip(
        frame["town_code"].to_list(), frame["case_no"].to_list(), strict=True)], dtype=pl.String)


def draw(population: pl.DataFrame, seed: bytes, ratios: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply the method to a month's population (`select_town` for every town at once).

    population: POPULATION_SCHEMA columns (extra columns are carried through), and
    hash_hex when the caller has hashed the rows already (`case_hash` of each row:
    publish.spotcheck has DuckDB do it); else each row is hashed here.
    ratios: town_code, ratio (decimal text), minimum_per_town for every town
    with a population.
    Returns (cases, towns): cases adds mandatory, mandatory_reasons, hash_hex,
    selected, selection_order; towns has town_code, population, ratio,
    minimum_per_town, k, mandatory, selected.
    """
    hashes = population["hash_hex"] if "hash_hex" in population.columns else case_hashes(population, seed)
    cases = population.drop("hash_hex", strict=False).with_columns(mandatory_reasons=mandatory_reasons_expr())
    cases = cases.with_columns(mandatory=pl.col("mandatory_reasons").is_not_null(), hash_hex=hashes)
    ratio_of = {r["town_code"]: r for r in ratios.iter_rows(named=True)}
    counts = cases.group_by("town_code").agg(population=pl.len(), mandatory=pl.col("mandatory").sum()).sort("town_code")
    sizes = []
    for town, n, must in counts.iter_rows():
        if town not in ratio_of:
            raise ValueError(f"no spot-check ratio for town {town}")
        k = sample_size(n, ratio_of[town]["ratio"], int(ratio_of[town]["minimum_per_town"]))
        sizes.append((town, ratio_of[town]["ratio"], int(ratio_of[town]["minimum_per_town"]), k, max(k, must)))
    towns = counts.join(
        pl.DataFrame(sizes, orient="row", schema={"town_code": pl.String, "ratio": pl.String,
                                                  "minimum_per_town": pl.Int64, "k": pl.Int64, "selected": pl.Int64}),
        on="town_code", maintain_order="left",
    )
    # mandatory cases first (by case number), then the others by hash (ties by case number), up to k
    order = pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("town_code")
    cases = (
        cases.sort(
            "town_code", pl.col("mandatory").not_(),
            pl.when(pl.col("mandatory")).then(pl.lit("")).otherwise(pl.col("hash_hex")), "case_no",
        )
        .with_columns(__order=order)
        .join(towns.select("town_code", __places=pl.col("selected")), on="town_code", maintain_order="left")
        .with_columns(
            selection_order=pl.when(pl.col("__order") <= pl.col("__places")).then(pl.col("__order"))
        )
        .drop("__order", "__places")
        .with_columns(selected=pl.col("selection_order").is_not_null())
    )
    towns = towns.select(
        "town_code", "population", "ratio", "minimum_per_town", "k", "mandatory", "selected"
    ).cast({"population": pl.Int64, "minimum_per_town": pl.Int64, "k": pl.Int64, "mandatory": pl.Int64,
            "selected": pl.Int64, "ratio": pl.String})
    return cases.sort("town_code", "case_no"), towns


# ---------------------------------------------------------------- error rates


def wilson_interval(not_true: int, inspected: int, z: float = Z95) -> tuple[float | None, float | None]:
    """95% Wilson score interval for a proportion not_true / inspected (None, None when none inspected)."""
    if inspected <= 0:
        return None, None
    if not 0 <= not_true <= inspected:
        raise ValueError(f"not_true must lie in 0..{inspected}, got {not_true}")
    n, p = inspected, not_true / inspected
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if not_true == 0 else max(0.0, centre - half)
    high = 1.0 if not_true == inspected else min(1.0, centre + half)
    return low, high


CASE_RESULT_SCHEMA = {
    "period": pl.String,
    "town_code": pl.String,
    "program": pl.String,
    "selected": pl.Boolean,
    "conclusion": pl.String,  # latest accepted result of a sampled case: true, not_true, or null
}
MART_SCHEMA = {
    "period": pl.String,
    "town_code": pl.String,
    "program": pl.String,
    "population": pl.Int64,
    "sampled": pl.Int64,
    "inspected": pl.Int64,
    "not_true": pl.Int64,
    "error_rate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "next_ratio": pl.Float64,
}


def inspections_monthly(
    cases: pl.DataFrame,
    town_codes: Iterable[str],
    next_params: Mapping[str, Mapping],
) -> pl.DataFrame:
    """mart.inspections_monthly: per drawn period, town and program (and 'all').

    cases: one row per population case of every drawn period (CASE_RESULT_SCHEMA).
    town_codes: every town; each drawn period gets an 'all' row per town, even
    with no population. next_params: period -> the spot_check row in force in
    the following month (ratio, ratio_step, ratio_max, error_rate_threshold);
    next_ratio is the town's ratio for that month from this period's 'all'
    lower bound.
    """
    cases = cases.select(list(CASE_RESULT_SCHEMA)).cast(CASE_RESULT_SCHEMA)
    counts = [
        pl.len().alias("population"),
        pl.col("selected").sum().alias("sampled"),
        (pl.col("selected") & pl.col("conclusion").is_not_null()).sum().alias("inspected"),
        (pl.col("selected") & (pl.col("conclusion") == "not_true")).sum().alias("not_true"),
    ]
    by_program = cases.group_by("period", "town_code", "program").agg(counts)
    by_town = cases.group_by("period", "town_code").agg(counts).with_columns(program=pl.lit(ALL_PROGRAMS))
    periods = sorted(set(cases["period"].to_list()) | set(next_params))
    grid = pl.DataFrame(
        [(p, t) for p in periods for t in sorted(set(town_codes))],
        schema={"period": pl.String, "town_code": pl.String},
        orient="row",
    ).with_columns(program=pl.lit(ALL_PROGRAMS))
    by_town = grid.join(by_town, on=["period", "town_code", "program"], how="left").with_columns(
        pl.col("population", "sampled", "inspected", "not_true").fill_null(0)
    )
    cols = ["period", "town_code", "program", "population", "sampled", "inspected", "not_true"]
    rows = pl.concat(
        [
            by_program.select(cols).cast({c: pl.Int64 for c in cols[3:]}),
            by_town.select(cols).cast({c: pl.Int64 for c in cols[3:]}),
        ]
    )
    out = []
    for r in rows.iter_rows(named=True):
        low, high = wilson_interval(r["not_true"], r["inspected"])
        r["error_rate"] = r["not_true"] / r["inspected"] if r["inspected"] else None
        r["ci_low"], r["ci_high"] = low, high
        out.append(r)
    frame = pl.DataFrame(
        out,
        schema={
            **{c: MART_SCHEMA[c] for c in cols},
            "error_rate": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    )
    next_rows = []
    for r in frame.filter(pl.col("program") == ALL_PROGRAMS).iter_rows(named=True):
        params = next_params.get(r["period"])
        if params is None:
            continue
        ratio, _ = town_ratio(
            params["ratio"],
            params["ratio_step"],
            params["ratio_max"],
            params["error_rate_threshold"],
            r["ci_low"],
        )
        next_rows.append((r["period"], r["town_code"], float(ratio)))
    nxt = pl.DataFrame(
        next_rows,
        schema={"period": pl.String, "town_code": pl.String, "next_ratio": pl.Float64},
        orient="row",
    )
    return (
        frame.join(nxt, on=["period", "town_code"], how="left")
        .select(list(MART_SCHEMA))
        .sort("period", "town_code", pl.col("program") == ALL_PROGRAMS, "program")
    )


# ---------------------------------------------------------------- manifest verification


def verify_manifest(manifest: Mapping) -> list[str]:
    """Re-derive every town's sample from a manifest alone; the differences found (empty: verified).

    Checks the seed, each town's population count, k, the ratio against its
    stated basis, that mandatory cases are in the population and in the
    sample, every stated hash, and that the selected cases (and their order)
    are exactly what the method gives.
    """
    problems: list[str] = []
    if manifest.get("method") != METHOD:
        return [f"未知的抽样方法：{manifest.get('method')!r}（本程序只能核验 {METHOD}）"]
    try:
        seed = parse_seed(str(manifest.get("seed_hex", "")))
    except ValueError:
        return ["种子 seed_hex 应为64位十六进制数字"]
    towns = manifest.get("towns")
    if not isinstance(towns, list):
        return ["清单缺少 towns 列表"]
    seen_towns: set[str] = set()
    total_population = total_selected = 0
    for town in towns:
        code = str(town.get("town_code", ""))
        label = code or "（无镇街代码）"
        if code in seen_towns:
            problems.append(f"{label}：镇街重复出现")
        seen_towns.add(code)
        population = [str(c) for c in town.get("population", [])]
        if len(set(population)) != len(population):
            problems.append(f"{label}：抽样总体中有重复的案件编号")
        if town.get("population_count") != len(population):
            problems.append(
                f"{label}：population_count 为 {town.get('population_count')}，总体实际有 {len(population)} 件"
            )
        mandatory = [
            str(m.get("case_no")) if isinstance(m, Mapping) else str(m) for m in town.get("mandatory", [])
        ]
        outside = sorted(set(mandatory) - set(population))
        if outside:
            problems.append(f"{label}：必查案件不在抽样总体中：{'、'.join(outside)}")
        try:
            ratio = as_decimal(town.get("ratio"))
            minimum = int(town.get("minimum"))
        except (TypeError, ValueError):
            problems.append(f"{label}：抽查比例或最低户数无法识别")
            continue
        problems += _verify_ratio(label, ratio, town.get("ratio_basis"))
        try:
            derived = select_town(
                seed, code, population, [m for m in mandatory if m in set(population)], ratio, minimum
            )
        except ValueError as exc:
            problems.append(f"{label}：无法按方法重算（{exc}）")
            continue
        if town.get("k") != derived.k:
            problems.append(f"{label}：k 为 {town.get('k')}，按方法应为 {derived.k}")
        entries = town.get("selected", [])
        stated = [str(e.get("case_no")) if isinstance(e, Mapping) else str(e) for e in entries]
        added = sorted(set(stated) - set(derived.selected))
        removed = sorted(set(derived.selected) - set(stated))
        if added:
            problems.append(f"{label}：名单中多出按方法不应抽中的案件：{'、'.join(added)}")
        if removed:
            problems.append(f"{label}：名单中缺少按方法应抽中的案件：{'、'.join(removed)}")
        if len(set(stated)) != len(stated):
            problems.append(f"{label}：名单中有重复的案件编号")
        if not added and not removed and stated != list(derived.selected):
            problems.append(f"{label}：名单顺序与方法不符（必查案件在前，其余按哈希值从小到大）")
        for e in entries:
            if isinstance(e, Mapping) and e.get("by") is not None:
                c = str(e.get("case_no"))
                if (e["by"] == "mandatory") != (c in set(mandatory)):
                    problems.append(f"{label}：案件 {c} 的抽取方式 by={e['by']!r} 与必查名单不符")
            if isinstance(e, Mapping) and e.get("hash") is not None:
                c = str(e.get("case_no"))
                if c in derived.hashes and e["hash"] != derived.hashes[c]:
                    problems.append(f"{label}：案件 {c} 的哈希值与重算结果不符")
        if town.get("selected_count") != len(stated):
            problems.append(
                f"{label}：selected_count 为 {town.get('selected_count')}，名单实际有 {len(stated)} 件"
            )
        total_population += len(population)
        total_selected += len(stated)
    totals = manifest.get("totals") or {}
    if totals.get("population") != total_population:
        problems.append(f"合计：总体数为 {totals.get('population')}，各镇街合计为 {total_population}")
    if totals.get("selected") != total_selected:
        problems.append(f"合计：抽中数为 {totals.get('selected')}，各镇街合计为 {total_selected}")
    return problems


def _verify_ratio(label: str, ratio: Decimal, basis: object) -> list[str]:
    if not isinstance(basis, Mapping):
        return [f"{label}：缺少抽查比例依据 ratio_basis"]
    try:
        expected, raised = town_ratio(
            basis["base"], basis["step"], basis["max"], basis["threshold"], basis.get("previous_ci_low")
        )
    except (KeyError, ValueError, TypeError):
        return [f"{label}：抽查比例依据 ratio_basis 无法识别"]
    out = []
    if expected != ratio:
        out.append(f"{label}：抽查比例为 {decimal_text(ratio)}，按依据应为 {decimal_text(expected)}")
    if bool(basis.get("raised")) != raised:
        out.append(f"{label}：ratio_basis.raised 与上月置信下限不符")
    return out


# ---------------------------------------------------------------- inspection results

CONCLUSIONS = {"属实": "true", "不属实": "not_true"}
STOP_ACTION = "停保"
RESULT_FIELDS = ("case_no", "town_code", "inspected_on", "conclusion", "problem_type", "action")
CHECKED_SCHEMA = {
    "source_row": pl.Int64,
    "town_code": pl.String,
    "case_no": pl.String,
    "period": pl.String,
    "inspected_on": pl.Date,
    "conclusion": pl.String,
    "problem_type": pl.String,
    "action": pl.String,
    "stops_payment": pl.Boolean,
    "row_status": pl.String,
    "problem": pl.String,
}


def _squeeze(expr: pl.Expr) -> pl.Expr:
    return fold_fullwidth_expr(expr).str.replace_all(r"\s+", "")


def check_inspection_rows(
    raw: pl.DataFrame,
    known_cases: pl.DataFrame,
    sampled: pl.DataFrame,
    town_codes: Iterable[str],
    as_of: date,
) -> pl.DataFrame:
    """Type and check the rows of one inspection result file.

    raw: String columns of RESULT_FIELDS (problem_type, action may be absent)
    and source_row. known_cases: town_code, case_no of every case in the
    warehouse. sampled: town_code, case_no, period of every selected case.
    Returns one row per input row (CHECKED_SCHEMA): accepted, or rejected with
    a plain Chinese reason in `problem` (reasons joined with '；'). Rows of one
    case that disagree on the conclusion or the 处理意见 are all rejected.
    """
    cols = [pl.col(f) if f in raw.columns else pl.lit(None, pl.String).alias(f) for f in RESULT_FIELDS]
    towns = sorted(set(town_codes))
    typed = raw.select(pl.col("source_row").cast(pl.Int64), *cols).with_columns(
        case_no=clean_text_expr(pl.col("case_no")),
        town_code=clean_text_expr(pl.col("town_code")).str.replace(r"\.0+$", ""),
        inspected_on=parse_date_expr(pl.col("inspected_on")),
        conclusion=_squeeze(pl.col("conclusion")).replace_strict(CONCLUSIONS, default=None),
        problem_type=clean_text_expr(pl.col("problem_type")),
        action=clean_text_expr(pl.col("action")),
        raw_date=clean_text_expr(pl.col("inspected_on")),
        raw_conclusion=clean_text_expr(pl.col("conclusion")),
    )
    typed = typed.with_columns(stops_payment=(_squeeze(pl.col("action")) == STOP_ACTION).fill_null(False))
    known = known_cases.select("town_code", "case_no").unique().with_columns(__known=pl.lit(True))
    drawn = sampled.select("town_code", "case_no", "period").unique(
        subset=["town_code", "case_no"], keep="first"
    )
    typed = (
        typed.join(known, on=["town_code", "case_no"], how="left")
        .join(drawn, on=["town_code", "case_no"], how="left")
        .with_columns(pl.col("__known").fill_null(False))
    )
    valid = pl.col("conclusion").is_not_null()
    conflict = (
        (pl.col("conclusion").drop_nulls().n_unique() > 1)
        | (pl.col("stops_payment").filter(valid).n_unique() > 1)
    ).over("town_code", "case_no")
    town_ok = pl.col("town_code").is_in(towns).fill_null(False)
    checks = [
        pl.when(pl.col("case_no").is_null()).then(pl.lit("案件编号为空")),
        pl.when(pl.col("town_code").is_null())
        .then(pl.lit("镇街代码为空"))
        .when(~town_ok)
        .then(pl.format("镇街代码“{}”不是本区镇街的代码", pl.col("town_code"))),
        pl.when(pl.col("case_no").is_not_null() & town_ok & ~pl.col("__known")).then(
            pl.format("案件不存在：镇街{}没有案件编号为“{}”的案件", pl.col("town_code"), pl.col("case_no"))
        ),
        pl.when(pl.col("__known") & pl.col("period").is_null()).then(
            pl.lit("该案件不在任何月份的抽查名单中，不能登记抽查结果")
        ),
        pl.when(pl.col("raw_date").is_null())
        .then(pl.lit("核查日期为空"))
        .when(pl.col("inspected_on").is_null())
        .then(pl.format("核查日期“{}”无法识别", pl.col("raw_date")))
        .when(pl.col("inspected_on") > pl.lit(as_of))
        .then(
            pl.format(
                "核查日期{}晚于今天（{}）",
                pl.col("inspected_on").dt.to_string("%Y-%m-%d"),
                pl.lit(as_of.isoformat()),
            )
        ),
        pl.when(pl.col("raw_conclusion").is_null())
        .then(pl.lit("核查结论为空，应为“属实”或“不属实”"))
        .when(pl.col("conclusion").is_null())
        .then(pl.format("核查结论“{}”无法识别，应为“属实”或“不属实”", pl.col("raw_conclusion"))),
        pl.when(pl.col("case_no").is_not_null() & conflict).then(
            pl.lit("同一案件在本文件中有多条结论或处理意见不一致的核查结果")
        ),
    ]
    checked = typed.with_columns(
        problem=pl.concat_str(checks, separator="；", ignore_nulls=True).replace("", None)
    )
    checked = checked.with_columns(
        row_status=pl.when(pl.col("problem").is_null())
        .then(pl.lit("accepted"))
        .otherwise(pl.lit("rejected")),
    )
    return checked.select(list(CHECKED_SCHEMA)).cast(CHECKED_SCHEMA).sort("source_row")
