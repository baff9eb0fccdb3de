"""The monthly report (issue 7): the official workbook laid out for the city, the
public edition whose suppression cannot be undone by subtraction, report.html
that needs no network, the report flow with its Prefect artifact."""

from __future__ import annotations

import random
import re
import zipfile
from datetime import date
from decimal import Decimal
from fractions import Fraction

import polars as pl
import pytest
from helpers import REF, at, case_rows, drop_cases, ingest_all, make_id, query
from python_calamine import CalamineWorkbook

from core.home import Home
from core.periods import previous_period
from flows.close_month import close_month_flow
from flows.report import report_flow
from publish.report_xlsx import PUBLIC_MEASURES, TOTAL, write_public
from transforms.suppression import crosstab_cells, protect
from warehouse.connection import open_warehouse
from warehouse.mart import ReportData

GUNAN, WENLONG = "500110001", "500110002"
PEOPLE = [(f"居民{i}", make_id("19800101", f"{i:03d}"), "户主", "300") for i in range(1, 12)]


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> tuple[Home, dict]:
    home = Home(tmp_path_factory.mktemp("report")).ensure()
    rows = []
    for i, person in enumerate(PEOPLE[:8], start=1):  # 8 households in 古南, 3 in 文龙
        rows += case_rows(f"GN-{i}", GUNAN, [person])
    drop_cases(home, GUNAN, "gn.csv", rows, at(25))
    drop_cases(
        home,
        WENLONG,
        "wl.csv",
        [r for i, p in enumerate(PEOPLE[8:], 1) for r in case_rows(f"WL-{i}", WENLONG, [p])],
        at(25),
    )
    ingest_all(home, date(2025, 3, 25))
    for month in (4, 5, 6):
        close_month_flow.fn(home=str(home.root), period=f"2025-{month:02d}", as_of=f"2025-{month:02d}-01", notify=False)
    drop_cases(
        home,
        GUNAN,
        "stop.csv",
        case_rows("GN-1", GUNAN, [PEOPLE[0]], status="终止", decided="2025-05-20"),
        at(25, 5),
    )
    ingest_all(home, date(2025, 5, 25))
    summary = report_flow.fn(home=str(home.root), as_of="2025-07-03")
    return home, summary


def sheet(path, name) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def test_default_period_is_the_previous_month():
    assert previous_period(date(2025, 7, 3)) == "2025-06"
    assert previous_period(date(2026, 1, 1)) == "2025-12"


def test_files_at_the_spec_paths(reported):
    home, summary = reported
    folder = home.out / "reports" / "2025-06"
    assert sorted(p.name for p in folder.iterdir()) == [
        "report.html",
        "统计月报_2025-06.xlsx",
        "统计月报_2025-06_公开版.xlsx",
    ]
    assert summary["reports"]["headline"]["households"] == 10  # GN-1 terminated from June
    assert query(home, "SELECT flow, status FROM audit.runs WHERE flow = 'report'") == [
        ("report", "completed")
    ]


def test_official_workbook_is_laid_out_for_the_city(reported):
    home, _ = reported
    path = home.out / "reports" / "2025-06" / "统计月报_2025-06.xlsx"
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names[:5] == ["汇总", "城市低保", "农村低保", "集中特困", "分散特困"]
    assert {"校验退回", "信息核对", "问题处理", "入户抽查", "预算预测", "说明"} <= set(book.sheet_names)
    summary = sheet(path, "汇总")
    assert "统计月报" in summary[0][0] and "2025年6月" in summary[0][0]
    header = summary[3]
    assert header[:7] == ["指标分组", "指标", "城市低保", "农村低保", "集中特困", "分散特困", "合计"]
    by_measure = {r[1]: r for r in summary[4:] if r[1]}
    assert (
        by_measure["期初户数"][2] == 11 and by_measure["退出户数"][2] == 1 and by_measure["期末户数"][6] == 10
    )
    money = query(
        home, "SELECT sum(total) FROM pay.batches WHERE period = DATE '2025-06-01' AND status = 'exported'"
    )
    assert Decimal(str(by_measure["发放金额"][6])) == money[0][0]
    urban = sheet(path, "城市低保")
    head = urban[4]
    closing = head.index("期末户数")
    towns = [r for r in urban[5:] if r[0] and r[0].isdigit()]
    total = next(r for r in urban if str(r[1]).startswith(TOTAL))
    assert len(towns) == 21
    assert total[closing] == sum(r[closing] for r in towns) == 10
    assert {r[1]: r[closing] for r in towns}["古南街道"] == 7
    # frozen header, number formats for yuan, counts and rates
    with zipfile.ZipFile(path) as z:
        styles = z.read("xl/styles.xml").decode()
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert "#,##0.00" in styles and "0.0%" in styles
    assert all('state="frozen"' in s for s in sheets)


def test_public_edition_suppresses_small_counts(reported):
    home, _ = reported
    path = home.out / "reports" / "2025-06" / "统计月报_2025-06_公开版.xlsx"
    towns = sheet(path, "分镇街合计")
    gunan = next(r for r in towns if r[0] == GUNAN)
    wenlong = next(r for r in towns if r[0] == WENLONG)
    assert gunan[2] != "<5"  # 7 households: not a small count (shown, or hidden as × to protect the zeros beside it)
    assert wenlong[2] == "<5"  # 3 households: suppressed
    assert any(isinstance(v, str) and v == "×" for r in towns for v in r[2:])  # complements exist


def test_html_opens_offline(reported):
    home, _ = reported
    text = (home.out / "reports" / "2025-06" / "report.html").read_text(encoding="utf-8")
    assert len(re.findall(r"<svg\b", text)) >= 6
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "@import" not in text and "url(" not in text
    assert "<script src" not in text


def test_report_twice_gives_the_same_marts_and_workbooks(reported, tmp_path):
    home, _ = reported
    path = home.out / "reports" / "2025-06" / "统计月报_2025-06.xlsx"
    before = path.read_bytes()
    with open_warehouse(home, flow="test", read_only=True) as con:
        marts = con.sql("SELECT * FROM mart.monthly_statistics ORDER BY ALL").pl()
    report_flow.fn(home=str(home.root), as_of="2025-07-03")
    with open_warehouse(home, flow="test", read_only=True) as con:
        assert con.sql("SELECT * FROM mart.monthly_statistics ORDER BY ALL").pl().equals(marts)
    assert path.read_bytes() == before


# ---------------------------------------------------------------- suppression cannot be undone


def _fake_data(seed: int) -> ReportData:
    rng = random.Random(seed)
    towns = REF["towns"].select(pl.col("code").alias("town_code"), pl.col("name").alias("town_name"))
    programs = REF["programs"].select("program", pl.col("label").alias("program_label"), "family")
    rows = []
    for code in towns["town_code"]:
        for program in programs["program"]:
            small = rng.random() < 0.35
            h = rng.randint(0, 4) if small else rng.randint(5, 60)
            rows.append(
                {
                    "period": "2025-06",
                    "town_code": code,
                    "program": program,
                    "households_closing": h,
                    "persons_closing": h + rng.randint(0, h + 1),
                    "households_new": rng.choice([0, 1, 2, 6, 9]),
                    "households_exits": rng.choice([0, 1, 3, 7]),
                    "households_paid": h,
                    "money_paid": Decimal(h * 450) + Decimal("0.50") * rng.randint(0, 9),
                    "decisions": rng.choice([0, 2, 5, 8]),
                    "denials": rng.choice([0, 1, 6]),
                }
            )
    stats = pl.DataFrame(rows)
    keys = pl.DataFrame({"town_code": stats["town_code"], "program": stats["program"]})
    empty = pl.DataFrame()
    return ReportData(
        period="2025-06",
        as_of=date(2025, 7, 3),
        months=["2025-06"],
        towns=towns,
        programs=programs,
        stats=stats,
        district=empty,
        caseload=keys,
        payments=keys.with_columns(money_failed=pl.lit(Decimal("0.00"))),
        processing=empty,
        rejections=empty,
        findings=empty,
        budget=empty,
        inspections=empty,
    )


def _read_public(path, data: ReportData) -> dict[tuple[str, str, str], object]:
    """Every published cell as (measure, town or 合计, program or 合计) -> value or mark."""
    measures = [c.key for c in PUBLIC_MEASURES]
    labels = dict(data.programs.select("program_label", "program").iter_rows())
    cells: dict[tuple[str, str, str], object] = {}

    def put(key, value):
        assert cells.setdefault(key, value) == value, key  # the same figure is the same everywhere

    for name in ["汇总", "分镇街合计", *labels]:
        rows = sheet(path, name)
        for r in rows[4:]:
            if name == "汇总":
                col = TOTAL if r[0] == TOTAL else labels.get(r[0])
                if col is None:
                    continue
                for m, v in zip(measures, r[1:], strict=False):
                    put((m, TOTAL, col), v)
            else:
                town = TOTAL if str(r[1]).startswith(TOTAL) else r[0]
                if not town:
                    continue
                col = TOTAL if name == "分镇街合计" else labels[name]
                for m, v in zip(measures, r[2:], strict=False):
                    put((m, town, col), v)
    return cells


def _determined(unknowns: list, equations: list[tuple[dict, Fraction]]) -> set:
    """Unknowns whose value follows from the equations (exact Gaussian elimination)."""
    index = {u: i for i, u in enumerate(unknowns)}
    rows = []
    for coefs, _rhs in equations:
        row = [Fraction(0)] * len(unknowns)
        for u, c in coefs.items():
            row[index[u]] += c
        if any(row):
            rows.append(row)
    pivots = []
    r = 0
    for col in range(len(unknowns)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        lead = rows[r][col]
        rows[r] = [x / lead for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append((r, col))
        r += 1
    return {unknowns[col] for r, col in pivots if sum(1 for x in rows[r] if x != 0) == 1}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_public_suppression_cannot_be_undone_by_subtraction(tmp_path, seed):
    data = _fake_data(seed)
    path, _cells = write_public(Home(tmp_path).ensure(), data)
    shown = _read_public(path, data)
    official = {(r["town_code"], r["program"]): r for r in data.stats.iter_rows(named=True)}
    towns = data.towns["town_code"].to_list()
    programs = data.programs["program"].to_list()

    def truth(m, t, p):
        ts = towns if t == TOTAL else [t]
        ps = programs if p == TOTAL else [p]
        return sum(official[(a, b)][m] for a in ts for b in ps)

    hidden = {k for k, v in shown.items() if isinstance(v, str)}
    assert hidden, "nothing was suppressed"
    counts = [c.key for c in PUBLIC_MEASURES if c.kind == "count"]
    for (m, t, p), v in shown.items():
        if m in counts and truth(m, t, p) < 5:
            assert v == "<5", (m, t, p, v)  # every small count is hidden as <5
        if not isinstance(v, str):
            assert Decimal(str(v)) == Decimal(truth(m, t, p)).quantize(Decimal(str(v))) or v == truth(m, t, p)
    # the relations anyone can use: rows and columns add up to the totals, and new - exits is known
    # from last month's closing; the attack solves them all at once, not only one at a time
    equations = []
    for m in [c.key for c in PUBLIC_MEASURES]:
        for t in [*towns, TOTAL]:
            equations.append(({(m, t, p): 1 for p in programs} | {(m, t, TOTAL): -1}, 0))
        for p in [*programs, TOTAL]:
            equations.append(({(m, t, p): 1 for t in towns} | {(m, TOTAL, p): -1}, 0))
    for t in [*towns, TOTAL]:
        for p in [*programs, TOTAL]:
            # last month's closing (its edition) + new - exits = this month's closing
            equations.append(
                ({("households_closing", t, p): 1, ("households_new", t, p): -1, ("households_exits", t, p): 1}, 0)
            )
    restricted = []
    for coefs, rhs in equations:
        unknown = {k: Fraction(c) for k, c in coefs.items() if k in hidden}
        if unknown:
            restricted.append((unknown, rhs))
    # simple subtraction: no relation leaves a single hidden cell
    assert all(len(u) != 1 for u, _ in restricted)
    groups: dict[str, list] = {}
    for unknown, rhs in restricted:  # the measures are independent, but for the new/exits pair
        group = (
            "movement"
            if next(iter(unknown))[0] in ("households_new", "households_exits", "households_closing")
            else next(iter(unknown))[0]
        )
        groups.setdefault(group, []).append((unknown, rhs))
    for part in groups.values():
        cells = sorted({k for u, _ in part for k in u})
        assert _determined(cells, part) == set()


def test_protect_adds_complements_for_cells_recoverable_only_by_combining_lines():
    # a 3x3 table whose hidden cells form two cycles joined by one cell (r0,c2):
    # every line has two hidden cells, yet (r0,c2) follows from combining the lines
    values = {(r, c): 10 + r * 3 + c for r in range(4) for c in range(4)}
    primary = {(0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (2, 2), (2, 3), (3, 2), (3, 3)}
    cells = pl.DataFrame(
        {
            "cell": [f"{r}.{c}" for r, c in values],
            "value": list(values.values()),
            "is_total": [False] * 16,
            "primary": [(r, c) in primary for r, c in values],
        }
    )
    lines = [(f"r{r}", f"{r}.{c}", 1) for r in range(4) for c in range(4)]
    lines += [(f"c{c}", f"{r}.{c}", 1) for r in range(4) for c in range(4)]
    chosen = protect(cells, pl.DataFrame(lines, schema=["line", "cell", "coef"], orient="row"))
    assert chosen["suppressed"].sum() > len(primary)  # the bridge needed a complement


def test_crosstab_marks_primary_and_complementary_cells():
    frame = pl.DataFrame({"row": ["a", "a", "b", "b"], "col": ["x", "y", "x", "y"], "n": [3, 10, 12, 20]})
    out = crosstab_cells(frame, row="row", col="col", measures=["n"], counts=["n"])
    shown = {(r, c): s for r, c, s in out.select("row", "col", "shown").iter_rows()}
    assert shown[("a", "x")] == "<5"
    assert shown[("合计", "合计")] == "45"
    hidden = [k for k, v in shown.items() if v in ("<5", "×")]
    assert len(hidden) >= 4  # a full rectangle: nothing follows from the totals


# ---------------------------------------------------------------- the flow


@pytest.mark.flow
def test_report_flow_through_prefect_publishes_a_headline_artifact(reported, prefect_harness):
    from prefect.artifacts import Artifact

    from flows.report import report_flow

    home, _ = reported
    summary = report_flow(home=str(home.root), as_of="2025-07-03")
    assert summary["reports"]["headline"]["period"] == "2025-06"
    artifact = Artifact.get(key="report")
    assert (
        artifact is not None and "统计月报 2025-06" in artifact.data and "期末在保户数 | 10" in artifact.data
    )
    assert not re.search(r"\d{15,}", artifact.data)  # counts only, never an ID or an account
