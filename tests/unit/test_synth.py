"""The synthetic district: every file readable, clean where not planted, reproducible.

The home is read back the way a town clerk's files would be (any format,
every messy variant), and the SPEC §5 rules are re-checked here, so that
"clean households produce no error finding" and "the ground truth lists what
was planted" are outcomes, not promises.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from python_calamine import CalamineWorkbook

from core.home import SHANGHAI
from core.reference import load_reference
from synth import DEFAULT_AS_OF, generate
from transforms.calendar import WorkingCalendar
from transforms.entitlement import case_entitlement, month_constants
from transforms.identifiers import id_problem_expr, luhn_ok, normalise_id, normalise_id_expr
from transforms.money import parse_yuan_text
from transforms.text import fold_fullwidth

HOUSEHOLDS = 400
SEED = 7
REF = load_reference(None)
CAL = WorkingCalendar(REF["holidays"])
HEADERS = {k: v for k, v in REF.header_map().items()}


def _hkey(text) -> str:
    return re.sub(r"\s", "", fold_fullwidth(str(text or ""))).lower()


HEADER_KEYS = {_hkey(h): f for h, f in HEADERS.items()}
HOUSEHOLD = [
    f for f, lvl in REF["header_synonyms"].select("field", "level").unique().iter_rows() if lvl == "household"
]
EXCEL_EPOCH = date(1899, 12, 30)
DATE_FIELDS = ("applied_on", "received_on", "visited_on", "reviewed_on", "decided_on", "publicity_from",
               "publicity_to", "rechecked_on", "annual_review_on")  # fmt: skip


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth") / "home"
    summary = generate(out, households=HOUSEHOLDS, seed=SEED)
    return out, summary


@pytest.fixture(scope="module")
def ground_truth(home) -> list[dict]:
    with (home[0] / "ground_truth.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def submissions(home) -> pl.DataFrame:
    return read_home(home[0])


# ---------------------------------------------------------------- reading the home like ingest would


def _cell(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, bool):
        return "是" if v else "否"
    s = str(v)
    return s if s.strip() else None


def _table(rows: list[list]) -> tuple[list[str], list[list]]:
    for i, row in enumerate(rows[:20]):
        keys = [HEADER_KEYS.get(_hkey(c)) for c in row]
        if sum(k is not None for k in keys) >= 3:
            fields = [k or f"extra:{c}" for k, c in zip(keys, row, strict=False)]
            return fields, rows[i + 1 :]
    raise ValueError("no header row")


def read_file(path: Path) -> list[dict]:
    """Rows of one submission as {field: text}; raises on anything unreadable."""
    suffix = path.suffix
    if suffix in (".xlsx", ".xls"):
        wb = CalamineWorkbook.from_path(str(path))
        sheet = "台账" if "台账" in wb.sheet_names else wb.sheet_names[0]
        raw = [[_cell(c) for c in r] for r in wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)]
        excel = True
    else:
        data = path.read_bytes()
        for enc in ("utf-8-sig", "utf-8", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError("undecodable")
        excel = False
        if suffix == ".json":
            out = []
            for case in json.loads(text):
                hh = {
                    HEADER_KEYS[_hkey(k)]: _cell(v)
                    for k, v in case.items()
                    if k != "members" and _hkey(k) in HEADER_KEYS
                }
                for m in case["members"]:
                    row = dict(hh)
                    row.update({HEADER_KEYS[_hkey(k)]: _cell(v) for k, v in m.items()})
                    out.append(row)
            return [dict(r, _excel=False) for r in out]
        raw = [[c if c != "" else None for c in r] for r in csv.reader(io.StringIO(text))]
    fields, body = _table(raw)
    out = []
    for r in body:
        if all(c is None or str(c).strip() == "" for c in r):
            continue
        row = {f: (r[i] if i < len(r) else None) for i, f in enumerate(fields) if not f.startswith("extra:")}
        row["_excel"] = excel
        out.append(row)
    return out


_DATE_RES = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), None),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), None),
    (re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"), None),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"), None),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), None),
)


def parse_date(text: str | None, excel: bool) -> date | None:
    if text is None:
        return None
    t = fold_fullwidth(text).strip()
    if t == "":
        return None
    if excel and re.fullmatch(r"\d{5}(\.0+)?", t):
        return EXCEL_EPOCH + timedelta(days=int(float(t)))
    for rx, _ in _DATE_RES:
        m = rx.match(t)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError(f"unreadable date {text!r}")


def parse_month(text: str | None) -> date | None:
    if text is None:
        return None
    t = fold_fullwidth(text).strip()
    m = re.fullmatch(r"(\d{4})(?:-|/|\.|年)(\d{1,2})月?(?:-\d{1,2})?", t)
    if not m:
        raise ValueError(f"unreadable month {text!r}")
    return date(int(m[1]), int(m[2]), 1)


def read_home(root: Path) -> pl.DataFrame:
    rows = []
    for folder in sorted((root / "inbox").iterdir()):
        for dirpath, _dirs, files in os.walk(folder):
            for name in sorted(files):
                path = Path(dirpath) / name
                if name.startswith(("~$", ".")) or path.is_symlink():
                    continue
                rel = path.relative_to(root).as_posix()
                mtime = datetime.fromtimestamp(path.stat().st_mtime, SHANGHAI)
                try:
                    recs = read_file(path)
                except Exception:  # noqa: BLE001 - P01 files are unreadable on purpose
                    rows.append({"file": rel, "unreadable": True, "folder": folder.name, "mtime": mtime})
                    continue
                for i, r in enumerate(recs):
                    r.update(file=rel, folder=folder.name, mtime=mtime, line=i, unreadable=False)
                    rows.append(r)
    return pl.DataFrame(rows, infer_schema_length=None)


def _parse(fn, *args):
    try:
        return fn(*args), False
    except ValueError:
        return None, True


def typed(sub: pl.DataFrame, skip_files: set[str]) -> pl.DataFrame:
    """Normalised values of every readable row; `p03` marks a value not of its type."""
    recs = []
    for r in sub.filter(~pl.col("unreadable") & ~pl.col("file").is_in(list(skip_files))).to_dicts():
        t = {k: (fold_fullwidth(v).strip() if isinstance(v, str) else v) for k, v in r.items()}
        t = {k: (None if v == "" else v) for k, v in t.items()}
        bad = False
        for f in DATE_FIELDS:
            t[f], b = _parse(parse_date, r.get(f), r["_excel"])
            bad |= b
        t["benefit_from"], b = _parse(parse_month, r.get("benefit_from"))
        bad |= b
        for f in ("monthly_benefit", "monthly_income"):
            v = t.get(f)
            t[f + "_fen"] = None if v is None else parse_yuan_text(str(v))
            bad |= v is not None and t[f + "_fen"] is None
        t["monthly_income_fen"] = t["monthly_income_fen"] or 0
        for f in ("staff_relative", "complaint", "extended", "gradual_exit", "covered", "serious_illness"):
            t[f + "_raw"] = t.get(f)
            t[f] = (t.get(f) or "否") == "是"
        t["p03"] = bad
        t["day"] = r["mtime"].date()
        recs.append(t)
    f = pl.DataFrame(recs, infer_schema_length=None)
    return f.with_columns(
        id_no=normalise_id_expr(pl.col("id_no")), town_code=pl.col("town_code").cast(pl.String)
    )


# ---------------------------------------------------------------- tests: files


def test_every_submission_file_reads_except_the_planted_garbage(submissions, ground_truth):
    unreadable = set(submissions.filter(pl.col("unreadable"))["file"].to_list())
    planted = {r["file"] for r in ground_truth if r["rule_id"] == "P01"}
    assert unreadable == planted and planted


def test_the_home_has_every_messy_variant(home, submissions):
    root = home[0]
    files = [p for p in (root / "inbox").rglob("*") if p.is_file() or p.is_symlink()]
    suffixes = Counter(p.suffix for p in files if not p.name.startswith(("~$", ".")))
    assert {".xlsx", ".xls", ".csv", ".json"} <= set(suffixes)
    assert any(p.name.startswith("~$") for p in files)
    assert any(p.name.startswith(".") for p in files)
    assert any(p.is_symlink() for p in files)
    assert (root / "inbox" / "500110105").is_dir()  # Wansheng: not a Qijiang town
    raw_csv = [p.read_bytes() for p in files if p.suffix == ".csv" and not p.is_symlink()]
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw_csv)
    assert any(_is_gb18030_only(b) for b in raw_csv)
    texts = [
        str(v)
        for c in ("applied_on", "received_on", "decided_on")
        for v in submissions[c].drop_nulls().to_list()
    ]
    assert any(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", t) for t in texts)
    assert any(re.fullmatch(r"\d{4}\.\d{1,2}\.\d{1,2}", t) for t in texts)
    assert any(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", t) for t in texts)
    assert any(re.fullmatch(r"\d{8}", t) for t in texts)
    assert any(re.fullmatch(r"\d{5}", t) for t in texts)  # Excel serial numbers
    ids = submissions["id_no"].drop_nulls().cast(pl.String).to_list()
    assert any(re.fullmatch(r"\d{15}", i) for i in ids)
    assert any(i.endswith("x") for i in ids)
    assert any(i != i.strip() for i in ids)
    assert any(re.search("[０-９]", i) for i in ids)


def _is_gb18030_only(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return False
    except UnicodeDecodeError:
        b.decode("gb18030")
        return True


def test_files_arrive_on_submission_days_and_baseline_on_go_live_eve(home):
    root, summary = home
    days = set(summary.submission_days) | {summary.baseline_as_of}
    for p in (root / "inbox").rglob("*"):
        if p.is_file() and not p.is_symlink() and not p.name.startswith((".", "~$")):
            m = datetime.fromtimestamp(p.stat().st_mtime, SHANGHAI)
            assert m.date() in days, p
            assert m.hour == 9
            assert (p.parent.name == "baseline") == (m.date() == summary.baseline_as_of)
    doc = json.loads((root / "synth.json").read_text(encoding="utf-8"))
    assert doc["go_live_month"] == "2025-01" and doc["baseline_as_of"] == "2024-12-31"
    assert doc["submission_days"][0] == "2025-01-05" and doc["submission_days"][-1] == "2025-12-25"


# ---------------------------------------------------------------- tests: ground truth


def test_ground_truth_lists_every_rule_once_per_plant(home, ground_truth):
    _, summary = home
    counts = Counter(r["rule_id"] for r in ground_truth)
    for rule, n in summary.planted.items():
        assert n >= 1, rule
        assert counts[rule] == n * (2 if rule in ("X08", "X09") else 1), rule
    assert summary.anomalies == {r: counts.get(r, 0) for r in summary.anomalies}
    for r in ground_truth:
        if r["rule_id"][0] in "PV":
            assert r["file"].startswith(f"inbox/{r['town_code']}/"), r
        else:
            assert r["file"] == ""


def test_anomaly_rate_zero_plants_nothing(tmp_path):
    s = generate(tmp_path / "h", households=60, seed=3, anomaly_rate=0, formats="csv")
    assert sum(s.planted.values()) == 0
    assert (tmp_path / "h" / "ground_truth.csv").read_text(encoding="utf-8").splitlines() == [
        "rule_id,town_code,case_no,id_no,file"
    ]
    assert not (tmp_path / "h" / "inbox" / "500110105").exists()
    assert {
        p.suffix for p in (tmp_path / "h" / "inbox").rglob("*.*") if not p.name.startswith((".", "~$"))
    } <= {".csv"}


# ---------------------------------------------------------------- tests: identifiers


def test_every_id_is_valid_except_the_planted_ones(submissions, ground_truth):
    t = (
        submissions.filter(~pl.col("unreadable") & pl.col("id_no").is_not_null())
        .select("file", "case_no", norm=normalise_id_expr(pl.col("id_no")))
        .with_columns(problem=id_problem_expr(pl.col("norm"), DEFAULT_AS_OF))
    )
    bad = t.filter(pl.col("problem").is_not_null())
    planted = {(r["file"], r["id_no"]) for r in ground_truth if r["rule_id"] == "V01"}
    assert set(zip(bad["file"].to_list(), bad["norm"].to_list(), strict=True)) == planted


def test_ids_are_unique_people_and_sex_matches_relation(home, submissions, ground_truth):
    t = typed(submissions, _p02_files(ground_truth))
    spouses = t.filter(pl.col("relation") == "配偶").select("case_no", "town_code", "id_no")
    heads = t.filter(pl.col("relation") == "户主").select("case_no", "town_code", h="id_no").unique()
    pairs = spouses.join(heads, on=["case_no", "town_code"]).unique()
    sex = lambda i: int(i[16]) % 2  # noqa: E731
    assert pairs.height > 10
    assert all(sex(a) != sex(b) for a, b in zip(pairs["id_no"], pairs["h"], strict=True))
    # one person, one name
    names = t.filter(pl.col("id_no").str.len_chars() == 18).group_by("id_no").agg(pl.col("name").n_unique())
    assert names.filter(pl.col("name") > 1).height == 0
    # an ID belongs to one case, except the planted X08 person
    per_id = (
        t.select("id_no", "town_code", "case_no").unique().group_by("id_no").len().filter(pl.col("len") > 1)
    )
    x08 = {r["id_no"] for r in ground_truth if r["rule_id"] == "X08"}
    v02_wrong = {r["case_no"] for r in ground_truth if r["rule_id"] == "V02"}
    shared = set(per_id["id_no"].to_list())
    assert x08 <= shared
    assert shared - x08 == set() or all(
        t.filter(pl.col("id_no") == i)["case_no"].is_in(list(v02_wrong)).any() for i in shared - x08
    )


def test_registries_have_spec_columns_few_invalid_ids_and_some_legacy_ids(home):
    root, summary = home
    expected = {
        "deaths": ["id_no", "name", "died_on"],
        "vehicles": ["id_no", "plate", "vehicle_type", "registered_on", "status", "disability_vehicle"],
        "real_estate": ["id_no", "property_id", "use", "area_m2", "registered_on"],
        "business": ["id_no", "uscc", "role", "status", "registered_capital"],
        "social_insurance": ["id_no", "kind", "monthly_amount", "period"],
        "provident_fund": ["id_no", "monthly_contribution", "status"],
        "public_payroll": ["id_no", "employer", "since"],
        "deposits": ["id_no", "institution", "balance", "as_of"],
    }
    fmts = Counter()
    legacy = 0
    for source, cols in expected.items():
        files = sorted((root / "registries" / source).iterdir())
        assert [p.stem for p in files] == ["2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31"]
        for p in files:
            fmts[p.suffix] += 1
            f = pl.read_parquet(p) if p.suffix == ".parquet" else pl.read_csv(p, infer_schema=False)
            assert f.columns == cols, p
            ids = f.select(n=normalise_id_expr(pl.col("id_no").cast(pl.String)))
            bad = ids.select(id_problem_expr(pl.col("n"), DEFAULT_AS_OF).is_not_null().sum()).item()
            assert bad < 0.01 * max(f.height, 1), p
            legacy += f.filter(pl.col("id_no").cast(pl.String).str.len_chars() == 15).height
    assert fmts[".csv"] and fmts[".parquet"] and legacy > 0
    # deaths accumulate: no death repeats in a later extract
    deaths = [_read_registry(p) for p in sorted((root / "registries" / "deaths").iterdir())]
    seen: set[str] = set()
    for d in deaths:
        now = set(d["id_no"].to_list())
        assert not (now & seen)
        seen |= now


def _read_registry(p: Path) -> pl.DataFrame:
    f = pl.read_parquet(p) if p.suffix == ".parquet" else pl.read_csv(p, infer_schema=False)
    return f.with_columns(pl.col(c).cast(pl.String) for c in f.columns)


# ---------------------------------------------------------------- tests: the rules, re-checked


def _p02_files(gt: list[dict]) -> set[str]:
    return {r["file"] for r in gt if r["rule_id"] in ("P01", "P02")}


def _hosts(gt: list[dict], rules: str) -> set[tuple[str, str]]:
    return {(r["town_code"], r["case_no"]) for r in gt if r["rule_id"][0] in rules}


TOWNS = dict(zip(REF["towns"]["code"].to_list(), REF["towns"]["authority_from"].to_list(), strict=True))
CODES = {
    f: set(REF["codes"].filter(pl.col("field") == f)["label"].to_list())
    for f in REF["codes"]["field"].unique()
}
CODED = {"program": "program", "status": "status", "decided_level": "decided_level", "relation": "relation",
         "disability_type": "disability_type", "disability_grade": "disability_grade", "schooling": "schooling",
         "work_ability": "work_ability"}  # fmt: skip
YES_NO = ("staff_relative", "complaint", "extended", "gradual_exit", "covered", "serious_illness")
HH_COMPARE = ("program", "status", "applied_on", "received_on", "visited_on", "reviewed_on", "decided_on",
              "publicity_from", "publicity_to", "decided_level", "decided_by", "monthly_benefit_fen", "benefit_from",
              "rechecked_on", "bank", "account_no", "account_holder", "staff_relative", "complaint", "extended",
              "gradual_exit", "remark", "village")  # fmt: skip
QUALIFYING = {("智力", "一级"), ("智力", "二级"), ("智力", "三级"), ("精神", "一级"), ("精神", "二级"), ("精神", "三级"),
              ("肢体", "一级"), ("肢体", "二级"), ("视力", "一级"), ("多重", "一级"), ("多重", "二级")}  # fmt: skip
ERRORS = {"V01", "V02", "V03", "V04", "V05", "V06", "V09", "V10", "V11", "V14", "P03"}
TEKUN = ("集中特困", "分散特困")


def _age(id_no: str, on: date) -> int:
    b = date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def _entitlements(t: pl.DataFrame) -> dict[str, int]:
    """Entitlement (fen) of every approved version, keyed file|town|case."""
    v = t.filter(
        (pl.col("status") == "批准")
        & pl.col("decided_on").is_not_null()
        & (pl.col("program").is_in(list(CODES["program"])))
    )
    v = v.with_columns(key=pl.format("{}|{}|{}", "file", "town_code", "case_no"))
    v = v.filter(id_problem_expr(pl.col("id_no"), date(2100, 1, 1)).is_null().all().over("key"))
    cases = v.unique("key", keep="first", maintain_order=True).select(
        "key",
        program=pl.col("program").replace_strict(REF.code_map("program")),
        standard_month=pl.col("decided_on").dt.truncate("1mo"),
        age_on=pl.col("decided_on"),
    )
    grade = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
    members = v.select(
        "key", "covered", "monthly_income_fen", "disability_type", "schooling", "self_care", "serious_illness",
        birth_date=pl.col("id_no").str.slice(6, 8).str.to_date("%Y%m%d", strict=False),
        disability_grade=pl.col("disability_grade").replace_strict(grade, default=None, return_dtype=pl.Int64),
    )  # fmt: skip
    ent = case_entitlement(cases, members, REF.tables, keys=("key",))
    return dict(zip(ent["key"].to_list(), ent["entitlement_fen"].to_list(), strict=True))


def version_findings(t: pl.DataFrame) -> set[tuple[str, str, str, str, str]]:
    """SPEC §5 P03 and V01–V16 over every version, in ingest order, with acceptance."""
    ent = _entitlements(t)
    bad_ids = set(
        t.select("id_no", "decided_on", "day")
        .filter(id_problem_expr(pl.col("id_no"), pl.coalesce("decided_on", "day")).is_not_null())["id_no"]
        .drop_nulls().to_list()
    )  # fmt: skip
    found: set[tuple[str, str, str, str, str]] = set()
    ordered = t.sort("mtime", "file", "line")
    versions: dict[tuple[str, str], list[tuple[str, list[dict]]]] = defaultdict(list)
    for (file, town, case), g in ordered.group_by(["file", "town_code", "case_no"], maintain_order=True):
        versions[(town, case)].append((file, g.to_dicts()))
    for (town, case), vs in versions.items():
        accepted_approved = accepted_decided = False
        submitted_days: list[date] = []
        for file, rows in vs:
            h = rows[0]
            folder = h["folder"]
            baseline = "/baseline/" in file
            day = h["day"]
            hits: set[tuple[str, str]] = set()
            for r in rows:
                if r["p03"]:
                    hits.add(("P03", r["id_no"]))
                if r["id_no"] in bad_ids or r["id_no"] is None or len(r["id_no"]) != 18:
                    hits.add(("V01", r["id_no"]))
            if folder not in TOWNS or town != folder:
                hits.add(("V02", ""))
            for fld in CODED:
                for r in rows:
                    if r.get(fld) is not None and r[fld] not in CODES[CODED[fld]]:
                        hits.add(("V03", "" if fld in ("program", "status", "decided_level") else r["id_no"]))
            for r in rows:
                if r.get("self_care") is not None and r["self_care"] not in ("全自理", "半护理", "全护理"):
                    hits.add(("V03", r["id_no"]))
                for fld in YES_NO:
                    if r.get(fld + "_raw") not in (None, "是", "否"):
                        hits.add(("V03", r["id_no"] if fld in ("covered", "serious_illness") else ""))
            if (
                any(len({str(r.get(f)) for r in rows}) > 1 for f in HH_COMPARE)
                or sum(r["relation"] == "户主" for r in rows) != 1
            ):
                hits.add(("V04", ""))
            ids = [r["id_no"] for r in rows]
            for i in {i for i in ids if ids.count(i) > 1}:
                hits.add(("V14", i))
            if baseline:
                hits = {x for x in hits if x[0] in ("V01", "V02", "V03", "V04", "V12", "V14", "P03")}
            status, dec = h["status"], h["decided_on"]
            approved = status == "批准"
            chain = [
                h[f] for f in ("applied_on", "received_on", "visited_on", "decided_on") if h[f] is not None
            ]
            first_approved = approved and not accepted_approved
            if not baseline:
                if chain != sorted(chain) or (
                    h["publicity_from"] and h["publicity_to"] and h["publicity_from"] > h["publicity_to"]
                ):
                    hits.add(("V05", ""))
                if first_approved and h["publicity_from"] and dec and dec > h["publicity_from"]:
                    hits.add(("V05", ""))
                covered = [r for r in rows if r["covered"]]
                minors = h["program"] in TEKUN and all(
                    _age(r["id_no"], dec or day) < 18 for r in covered if r["id_no"] not in bad_ids
                )
                if (
                    first_approved
                    and not minors
                    and (
                        h["publicity_from"] is None
                        or h["publicity_to"] is None
                        or (h["publicity_to"] - h["publicity_from"]).days < 6
                    )
                ):
                    hits.add(("V06", ""))
                if dec is not None and not accepted_decided:
                    limit = 25 if h["program"] in TEKUN else (45 if h["extended"] else 30)
                    if CAL.working_days_after(h["received_on"], dec) > limit:
                        hits.add(("V07", ""))
                if h["decided_level"] == "镇街" and dec is not None and folder in TOWNS and dec < TOWNS[town]:
                    hits.add(("V08", ""))
                key = f"{file}|{town}|{case}"
                checkable = (
                    approved and not h["gradual_exit"] and key in ent and not any(r["p03"] for r in rows)
                )
                if checkable and (
                    h["monthly_benefit_fen"] is None or abs(h["monthly_benefit_fen"] - ent[key]) > 100
                ):
                    hits.add(("V09", ""))
                if h["program"] in TEKUN:
                    for r in covered:
                        if r["id_no"] in bad_ids:
                            continue
                        age = _age(r["id_no"], dec or day)
                        if (
                            16 <= age <= 59
                            and not (age < 18 and r["schooling"] == "在校")
                            and (r["disability_type"], r["disability_grade"]) not in QUALIFYING
                        ):
                            hits.add(("V10", r["id_no"]))
                        if r.get("self_care") is None:
                            hits.add(("V11", r["id_no"]))
                if first_approved:
                    nxt = (dec.replace(day=28) + timedelta(days=4)).replace(day=1)
                    if h["benefit_from"] != nxt:
                        hits.add(("V13", ""))
                    if not any(d < dec for d in submitted_days):
                        hits.add(("V16", ""))
                if h["account_no"] is not None and not luhn_ok(h["account_no"]):
                    hits.add(("V15", ""))
            if approved and h["account_no"] is None:
                hits.add(("V12", ""))
            submitted_days.append(day)
            errors = {r for r, _ in hits} & ERRORS
            exit_status = status in ("停发", "终止", "作废") and not ({"V02", "P03"} & errors)
            if not errors or exit_status:
                accepted_approved |= approved
                accepted_decided |= dec is not None
            tc = folder if any(r == "V02" for r, _ in hits) else town
            for rule, idn in hits:
                found.add((rule, tc, case, idn or "", file))
    return found


def file_findings(sub: pl.DataFrame) -> set[tuple[str, str, str, str, str]]:
    """P01 (unreadable) and P02 (a required column missing)."""
    out = set()
    required = set(REF.required_fields())
    for file, g in sub.group_by("file", maintain_order=True):
        folder = g["folder"][0]
        if g["unreadable"][0]:
            out.add(("P01", folder, "", "", file[0]))
            continue
        present = {c for c in g.columns if g[c].drop_nulls().len() > 0}
        if required - present:
            out.add(("P02", folder, "", "", file[0]))
    return out


def test_rules_find_exactly_the_planted_p_and_v_anomalies(submissions, ground_truth):
    ff = file_findings(submissions)
    skip = {f[4] for f in ff}
    vf = version_findings(typed(submissions, skip))
    expected = {
        (r["rule_id"], r["town_code"], r["case_no"], r["id_no"], r["file"])
        for r in ground_truth
        if r["rule_id"][0] in "PV"
    }
    assert ff | vf == expected


def test_clean_benefits_cover_both_standards_and_equal_the_entitlement(submissions, ground_truth):
    t = typed(submissions, _p02_files(ground_truth))
    ent = _entitlements(t)
    approved = t.filter(pl.col("status") == "批准").unique(["file", "town_code", "case_no"])
    assert len(ent) > 300
    months = {d.replace(day=1) for d in approved["decided_on"].to_list()}
    assert any(m >= date(2025, 7, 1) for m in months) and any(
        date(2025, 1, 1) <= m < date(2025, 7, 1) for m in months
    )
    hosts = _hosts(ground_truth, "PV")
    exact = 0
    for r in approved.filter(~pl.col("gradual_exit")).iter_rows(named=True):
        key = f"{r['file']}|{r['town_code']}|{r['case_no']}"
        if (r["town_code"], r["case_no"]) in hosts or key not in ent:
            continue
        assert r["monthly_benefit_fen"] == ent[key], key  # to the fen
        exact += 1
    assert exact > 300


# ---------------------------------------------------------------- cross-check, at every extract date


def _current(versions_all: pl.DataFrame, day: date) -> pl.DataFrame:
    """Each case's latest version ingested on or before `day` (accepted versions only)."""
    v = versions_all.filter(pl.col("day") <= day)
    last = v.group_by("town_code", "case_no").agg(pl.col("file").sort_by(["mtime", "file"]).last())
    return v.join(last, on=["town_code", "case_no", "file"])


def _extract(root: Path, source: str, day: date) -> pl.DataFrame:
    files = sorted(p for p in (root / "registries" / source).iterdir() if date.fromisoformat(p.stem) <= day)
    if not files:
        return pl.DataFrame()
    f = pl.concat([_read_registry(p) for p in files]) if source == "deaths" else _read_registry(files[-1])
    return f.with_columns(id_no=normalise_id_expr(pl.col("id_no"))).filter(
        id_problem_expr(pl.col("id_no"), day).is_null()
    )


def x_hits(root: Path, versions_all: pl.DataFrame, day: date) -> set[tuple[str, str, str, str]]:
    cur = _current(versions_all, day)
    active = cur.filter(pl.col("status") == "批准")
    apps = cur.filter(pl.col("status").is_in(["已受理", "调查中", "待审批"]))
    checked = pl.concat([active, apps])
    hits: set[tuple[str, str, str, str]] = set()

    def member_hits(rule: str, ids: set[str], who: pl.DataFrame) -> None:
        for r in who.filter(pl.col("id_no").is_in(list(ids))).iter_rows(named=True):
            hits.add((rule, r["town_code"], r["case_no"], r["id_no"]))

    deaths = _extract(root, "deaths", day)
    if deaths.height:
        dead = set(deaths.filter(pl.col("died_on").str.to_date() <= day)["id_no"].to_list())
        member_hits("X01", dead, checked)
    veh = _extract(root, "vehicles", day)
    if veh.height:
        member_hits(
            "X02",
            set(
                veh.filter(
                    ~pl.col("status").is_in(["注销", "报废"]) & (pl.col("disability_vehicle") != "是")
                )["id_no"]
            ),
            checked,
        )
    re_ = _extract(root, "real_estate", day)
    if re_.height:
        own = checked.select("town_code", "case_no", "id_no").join(re_, on="id_no")
        agg = own.group_by("town_code", "case_no").agg(
            homes=pl.col("property_id").filter(pl.col("use") == "住宅").n_unique(),
            shops=(pl.col("use") == "商业").sum(),
        )
        for r in agg.filter((pl.col("homes") >= 2) | (pl.col("shops") > 0)).iter_rows(named=True):
            hits.add(("X03", r["town_code"], r["case_no"], ""))
    bus = _extract(root, "business", day)
    if bus.height:
        member_hits(
            "X04",
            set(
                bus.filter(pl.col("role").is_in(["法定代表人", "股东"]) & (pl.col("status") == "存续"))[
                    "id_no"
                ]
            ),
            checked,
        )
    pay = _extract(root, "public_payroll", day)
    if pay.height:
        member_hits("X05", set(pay["id_no"]), checked)
    urban = month_constants(REF.tables, [day.replace(day=1)])
    std_u, std_r = int(urban["std_dibao_urban"][0]), int(urban["std_dibao_rural"][0])
    dep = _extract(root, "deposits", day)
    if dep.height:
        d = (
            checked.select("town_code", "case_no", "id_no")
            .join(
                dep.with_columns(
                    fen=pl.col("balance").map_elements(lambda s: parse_yuan_text(s), return_dtype=pl.Int64)
                ),
                on="id_no",
            )
            .group_by("town_code", "case_no")
            .agg(pl.col("fen").sum())
        )
        size = checked.group_by("town_code", "case_no").len()
        over = d.join(size, on=["town_code", "case_no"]).filter(pl.col("fen") > pl.col("len") * std_u * 12)
        hits |= {("X06", a, b, "") for a, b in zip(over["town_code"], over["case_no"], strict=True)}
    si = _extract(root, "social_insurance", day)
    pf = _extract(root, "provident_fund", day)
    if si.height:
        pens = (
            si.filter(pl.col("kind").is_in(["养老金", "失业金"]))
            .sort("period")
            .group_by("id_no", "kind")
            .agg(pl.col("monthly_amount").last())
            .with_columns(
                fen=pl.col("monthly_amount").map_elements(lambda s: parse_yuan_text(s), return_dtype=pl.Int64)
            )
            .group_by("id_no")
            .agg(pl.col("fen").max())
        )
        m = (
            checked.filter(pl.col("gradual_exit").not_())
            .join(pens, on="id_no", how="left")
            .with_columns(inc=pl.max_horizontal("monthly_income_fen", pl.col("fen").fill_null(0)))
        )
        agg = m.group_by("town_code", "case_no").agg(
            pl.col("inc").sum(), n=pl.len(), program=pl.col("program").first()
        )
        kinds = dict(zip(REF["towns"]["code"], REF["towns"]["kind"], strict=True))
        for r in agg.iter_rows(named=True):
            std = (
                std_u
                if r["program"] == "城市低保"
                or (r["program"] in ("集中特困", "分散特困") and kinds[r["town_code"]] == "街道")
                else std_r
            )
            if r["inc"] >= std * r["n"]:
                hits.add(("X07", r["town_code"], r["case_no"], ""))
        working = set(si.filter(pl.col("kind") == "在职参保")["id_no"])
        if pf.height:
            working |= set(pf.filter(pl.col("status") == "缴存")["id_no"])
        member_hits("X10", working, active.filter(pl.col("monthly_income_fen") == 0))
    cov = checked.filter(pl.col("covered")).select("town_code", "case_no", "id_no").unique()
    multi = cov.group_by("id_no").len().filter(pl.col("len") > 1)["id_no"]
    member_hits("X08", set(multi), cov)
    acc = active.select("town_code", "case_no", "account_no").unique()
    shared = acc.group_by("account_no").len().filter(pl.col("len") > 1)["account_no"]
    for r in acc.filter(pl.col("account_no").is_in(shared.implode())).iter_rows(named=True):
        hits.add(("X09", r["town_code"], r["case_no"], ""))
    return hits


def test_cross_check_hits_only_the_planted_cases_and_only_in_the_last_extract(
    home, submissions, ground_truth
):
    root, summary = home
    t = typed(submissions, _p02_files(ground_truth))
    hosts = _hosts(ground_truth, "PV")
    t = t.filter(
        ~pl.struct("town_code", "case_no").map_elements(
            lambda s: (s["town_code"], s["case_no"]) in hosts, return_dtype=pl.Boolean
        )
    )
    expected = {
        (r["rule_id"], r["town_code"], r["case_no"], r["id_no"])
        for r in ground_truth
        if r["rule_id"][0] == "X"
    }
    last = summary.extract_dates[-1]
    assert x_hits(root, t, last) == expected
    pairs = {h for h in expected if h[0] in ("X08", "X09")}  # cross-case: planted all year
    for day in summary.extract_dates[:-1]:
        assert x_hits(root, t, day) <= pairs, day


# ---------------------------------------------------------------- reproducibility


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for name in sorted(files + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]):
            p = Path(dirpath) / name
            st = os.lstat(p)
            h.update(p.relative_to(root).as_posix().encode())
            h.update(str(int(st.st_mtime)).encode())
            h.update(os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
        h.update(str(int(os.lstat(dirpath).st_mtime)).encode())
    return h.hexdigest()


@pytest.mark.slow  # three districts generated: the full tier
def test_same_seed_gives_identical_files_and_times_other_seed_does_not(tmp_path):
    a = generate(tmp_path / "a", households=100, seed=11)
    b = generate(tmp_path / "b", households=100, seed=11)
    generate(tmp_path / "c", households=100, seed=12)
    assert a.planted == b.planted
    da, db, dc = (_tree_digest(tmp_path / x) for x in "abc")
    assert da == db
    assert da != dc


def test_csv_only_home_for_benchmarks(tmp_path):
    s = generate(tmp_path / "h", households=80, seed=5, formats="csv", anomaly_rate={"P01": 0})
    exts = {
        p.suffix
        for p in (tmp_path / "h" / "inbox").rglob("*")
        if p.is_file() and not p.name.startswith((".", "~$"))
    }
    assert exts == {".csv"}
    assert set(s.files) <= {"csv", "dotfile", "symlink"}
    first = next((tmp_path / "h" / "inbox").rglob("*.csv")).read_bytes()
    first.decode("utf-8")
    assert not first.startswith(b"\xef\xbb\xbf")


def test_refuses_a_home_with_an_inbox(tmp_path):
    (tmp_path / "inbox" / "500110001").mkdir(parents=True)
    (tmp_path / "inbox" / "500110001" / "a.csv").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError):
        generate(tmp_path, households=50)


def test_ids_normalise_back_to_the_same_person(submissions):
    legacy = submissions.filter(pl.col("id_no").cast(pl.String).str.strip_chars().str.len_chars() == 15)
    assert legacy.height > 0
    for raw in legacy["id_no"].head(20).to_list():
        assert len(normalise_id(raw)) == 18
