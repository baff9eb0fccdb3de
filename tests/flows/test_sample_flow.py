"""Spot-inspection sampling against a warehouse (SPEC §6): the population, the
draw stored once, the files, re-runs, ratios raised for erring towns.

Most tests run the flow's steps in this process (`run_sample`: sample_flow.fn); one
runs the Prefect flow. `build_home` and friends are shared with
tests/test_inspections.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from python_calamine import CalamineWorkbook

from core.home import SHANGHAI, Home
from core.periods import previous_period, shift_period
from core.reference import load_reference
from flows.sample import sample_flow
from intake.discover import discover
from intake.pipeline import IngestSettings, ingest_file
from publish.spotcheck import list_path, manifest_path
from transforms import sampling
from transforms.identifiers import id_check_char
from warehouse.connection import open_warehouse

TEST_SEED = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
GUNAN, WENLONG, SANJIANG = "500110001", "500110002", "500110003"
HEADER = (
    "案件编号,镇街代码,村社区,救助类别,案件状态,申请日期,受理日期,入户调查日期,审批日期,公示开始日期,公示结束日期,"
    "审批层级,审批人,月保障金额,起始发放月份,开户银行,银行账号,开户人,近亲属备案,投诉举报,姓名,身份证号,与户主关系,"
    "是否保障对象,月收入"
)
_ids: dict[str, str] = {}


def run_sample(home: Home, as_of: date, period: str | None = None, *, notify: bool = True) -> dict:
    """The sample flow's steps in this process, without Prefect."""
    return sample_flow.fn(home=str(home.root), as_of=as_of.isoformat(), period=period, notify=notify)


def person_id(key: str) -> str:
    """A valid, stable resident ID per key (born 1980, so no classified extras)."""
    if key not in _ids:
        n = len(_ids)
        first17 = (
            f"500110{date(1980, 1, 1).toordinal() + n // 400:0>8}"[:6]
            + (date.fromordinal(date(1980, 1, 1).toordinal() + n // 400).strftime("%Y%m%d"))
            + f"{n % 400 + 100:03d}"
        )
        _ids[key] = first17 + id_check_char(first17)
    return _ids[key]


def case_row(
    case: str,
    town: str,
    month: int,
    *,
    status: str = "批准",
    staff: str = "否",
    complaint: str = "否",
    program: str = "城市低保",
    account: str = "6222021234567890128",
    year: int = 2025,
) -> str:
    """One single-person household decided on the 10th of `month` (valid under every V-rule)."""
    urban, rural = (770, 630) if (year, month) >= (2025, 7) else (750, 610)
    benefit = (urban if program == "城市低保" else rural) - 300
    d = f"{year}-{month:02d}"
    nxt = shift_period(d, 1)
    return (
        f"{case},{town},新街社区,{program},{status},{d}-01,{d}-02,{d}-05,{d}-10,{d}-11,{d}-17,镇街,王审批,"
        f"{benefit},{nxt},农行,{account},户主{case},{staff},{complaint},户主{case},{person_id(town + case)},户主,是,300"
    )


def drop(home: Home, folder: str, name: str, lines: list[str], when: date) -> Path:
    path = home.inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    ts = datetime(when.year, when.month, when.day, 9, 0, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))
    return path


def ingest_day(home: Home, as_of: date, baseline: bool = False) -> list:
    ref = load_reference(home.reference)
    found = discover(home, frozenset(ref.town_codes), as_of)
    with open_warehouse(home, flow="test", ref=ref) as con:
        return [
            ingest_file(con, home, ref, c, IngestSettings(as_of, f"run-{as_of}", baseline))
            for c in found.candidates
        ]


def query(home: Home, q: str, params=None):
    with open_warehouse(home, flow="test") as con:
        return con.execute(q, params or []).fetchall()


def set_test_seed(home: Home, seed: str | None = TEST_SEED) -> None:
    settings = load_reference()["settings"].with_columns(
        value=pl.when(pl.col("key") == "spot_check_test_seed").then(pl.lit(seed)).otherwise(pl.col("value"))
    )
    home.reference.mkdir(parents=True, exist_ok=True)
    settings.write_csv(home.reference / "settings.csv")


def build_home(root: Path, *, seed: str | None = TEST_SEED) -> Home:
    """A small district: March 2025 approvals in 古南 (10 cases, 3 of them mandatory) and 文龙 (2),
    plus cases that must stay out of March's population."""
    home = Home(root).ensure()
    if seed:
        set_test_seed(home, seed)
    # baseline caseload at go-live: approved long ago, never in a population
    drop(home, GUNAN, "baseline.csv", [case_row("GN-B1", GUNAN, 1)], date(2025, 2, 1))
    ingest_day(home, date(2025, 2, 1), baseline=True)
    # February approval: February's population
    drop(home, GUNAN, "2025-02.csv", [case_row("GN-F1", GUNAN, 2)], date(2025, 2, 20))
    ingest_day(home, date(2025, 2, 20))
    gunan = [case_row(f"GN-{i:02d}", GUNAN, 3) for i in range(1, 8)] + [
        case_row("GN-08", GUNAN, 3, staff="是"),
        case_row("GN-09", GUNAN, 3, complaint="是"),
        case_row("GN-10", GUNAN, 3, account=""),  # V12: loaded with an open error, payment held
        case_row("GN-11", GUNAN, 3),  # voided before the draw
        case_row("GN-12", GUNAN, 3, status="待审批"),  # not approved: never in a population
    ]
    drop(home, GUNAN, "2025-03.csv", gunan, date(2025, 3, 15))
    drop(home, WENLONG, "2025-03.csv", [case_row(f"WL-{i}", WENLONG, 3) for i in (1, 2)], date(2025, 3, 15))
    ingest_day(home, date(2025, 3, 15))
    drop(home, GUNAN, "2025-03-void.csv", [case_row("GN-11", GUNAN, 3, status="作废")], date(2025, 3, 25))
    ingest_day(home, date(2025, 3, 25))
    # a March decision filed in April belongs to April's population
    drop(home, WENLONG, "2025-04.csv", [case_row("WL-3", WENLONG, 3)], date(2025, 4, 2))
    ingest_day(home, date(2025, 4, 2))
    return home


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The district of build_home, not sampled yet (copied by the tests that change it)."""
    return build_home(tmp_path_factory.mktemp("built")).root


@pytest.fixture
def fresh(built, tmp_path) -> Home:
    shutil.copytree(built, tmp_path / "home")
    return Home(tmp_path / "home")


@pytest.fixture(scope="module")
def march_home(built, tmp_path_factory) -> Home:
    root = tmp_path_factory.mktemp("march") / "home"
    shutil.copytree(built, root)
    home = Home(root)
    run_sample(home, date(2025, 4, 3), "2025-03")
    return home


def manifest(home: Home, period: str = "2025-03") -> dict:
    return json.loads(manifest_path(home, period).read_text("utf-8"))


def town_entry(m: dict, town: str) -> dict:
    return next(t for t in m["towns"] if t["town_code"] == town)


def test_population_is_first_approvals_ingested_in_the_month(march_home):
    m = manifest(march_home)
    assert town_entry(m, GUNAN)["population"] == [f"GN-{i:02d}" for i in range(1, 11)]
    assert town_entry(m, WENLONG)["population"] == ["WL-1", "WL-2"]
    assert m["totals"]["population"] == 12
    assert m["seed_hex"] == TEST_SEED and m["seed_source"] == "test_setting"


def test_every_town_meets_k_and_mandatory_cases_are_in(march_home):
    m = manifest(march_home)
    gunan, wenlong = town_entry(m, GUNAN), town_entry(m, WENLONG)
    assert (gunan["k"], wenlong["k"]) == (3, 2)  # ceil(0.3 x 10) = 3; min(2, max(1, 3)) = 2
    assert [(x["case_no"], x["reasons"]) for x in gunan["mandatory"]] == [
        ("GN-08", ["staff_relative"]),
        ("GN-09", ["complaint"]),
        ("GN-10", ["open_error:V12"]),
    ]
    assert [x["case_no"] for x in gunan["selected"]] == ["GN-08", "GN-09", "GN-10"]
    by_hash = sorted(
        ["WL-1", "WL-2"],
        key=lambda c: hashlib.sha256(bytes.fromhex(TEST_SEED) + (WENLONG + c).encode()).digest(),
    )
    assert [x["case_no"] for x in wenlong["selected"]] == by_hash
    for town in m["towns"]:
        assert town["selected_count"] >= town["k"]
    assert sampling.verify_manifest(m) == []


def test_lists_show_the_selected_cases_for_the_inspectors(march_home):
    sheet = CalamineWorkbook.from_path(str(list_path(march_home, "2025-03", GUNAN))).get_sheet_by_name(
        "抽查名单"
    )
    rows = sheet.to_python()
    header = rows[0]
    assert header[:4] == ["序号", "镇街代码", "镇街", "案件编号"]
    assert [r[header.index("案件编号")] for r in rows[1:]] == ["GN-08", "GN-09", "GN-10"]
    assert rows[1][header.index("必查原因")] == "近亲属备案"
    assert rows[3][header.index("必查原因")] == "有未结错误问题（V12）"
    assert rows[1][header.index("户主身份证号")] == person_id(GUNAN + "GN-08")
    assert {"核查日期", "核查结论", "问题类型", "处理意见"} <= set(header)
    assert not list_path(march_home, "2025-03", SANJIANG).exists()


def test_rerun_keeps_the_seed_and_reproduces_files_byte_for_byte(fresh):
    home = fresh
    (home.reference / "settings.csv").unlink()  # no test seed: a real one from the operating system
    first = run_sample(home, date(2025, 4, 3), "2025-03")
    files = sorted(manifest_path(home, "2025-03").parent.iterdir())
    before = {p.name: p.read_bytes() for p in files}
    seed = manifest(home)["seed_hex"]
    assert manifest(home)["seed_source"] == "os" and seed != TEST_SEED
    # more data arrives, then the month is sampled again
    drop(home, GUNAN, "2025-03-late.csv", [case_row("GN-99", GUNAN, 3, staff="是")], date(2025, 3, 31))
    second = run_sample(home, date(2025, 4, 20), "2025-03")
    assert first["sample"]["new_draw"] and not second["sample"]["new_draw"]
    assert {p.name: p.read_bytes() for p in sorted(manifest_path(home, "2025-03").parent.iterdir())} == before
    assert query(home, "SELECT count(*), min(seed_hex) FROM checks.spotcheck_draws") == [(1, seed)]
    assert second["sample"]["manifest_sha256"] == first["sample"]["manifest_sha256"]


def test_same_inputs_give_the_same_sample(tmp_path, march_home):
    other = build_home(tmp_path / "again")
    run_sample(other, date(2025, 4, 3), "2025-03")
    a, b = manifest(march_home), manifest(other)
    assert [t["selected"] for t in a["towns"]] == [t["selected"] for t in b["towns"]]
    assert (
        list_path(other, "2025-03", GUNAN).read_bytes()
        == list_path(march_home, "2025-03", GUNAN).read_bytes()
    )


def test_a_month_not_ended_cannot_be_sampled(tmp_path):
    home = Home(tmp_path).ensure()
    with pytest.raises(ValueError, match="has not ended"):
        run_sample(home, date(2025, 3, 31), "2025-03")
    assert query(home, "SELECT flow, status FROM audit.runs") == [("sample", "failed")]


def test_default_period_is_the_previous_month(fresh):
    home = fresh
    out = run_sample(home, date(2025, 5, 1))
    assert out["sample"]["period"] == "2025-04"
    assert town_entry(manifest(home, "2025-04"), WENLONG)["population"] == ["WL-3"]


def test_next_months_ratio_rises_for_an_erring_town(fresh):
    home = fresh
    run_sample(home, date(2025, 4, 3), "2025-03")
    drop(home, GUNAN, "2025-04.csv", [case_row(f"GN-4{i}", GUNAN, 4) for i in range(10)], date(2025, 4, 25))
    ingest_day(home, date(2025, 4, 25))
    results = home.inspections_inbox / "2025-04.csv"
    results.parent.mkdir(parents=True)
    results.write_text(
        "案件编号,镇街代码,核查日期,核查结论,问题类型,处理意见\n"
        "GN-08,500110001,2025-04-20,不属实,隐瞒收入,停保\n"
        "GN-09,500110001,2025-04-20,不属实,隐瞒收入,限期整改\n"
        "GN-10,500110001,2025-04-21,属实,,\n"
        "WL-1,500110002,2025-04-21,属实,,\n",
        encoding="utf-8",
    )
    ts = datetime(2025, 4, 28, 9, tzinfo=SHANGHAI).timestamp()
    os.utime(results, (ts, ts))
    out = run_sample(home, date(2025, 5, 2), "2025-04")  # reads the results, then draws April
    assert out["inspections"]["s01"] == 2
    m = manifest(home, "2025-04")
    gunan, wenlong = town_entry(m, GUNAN), town_entry(m, WENLONG)
    assert (gunan["ratio"], gunan["ratio_basis"]["raised"], gunan["k"]) == ("0.4", True, 4)  # ceil(0.4 x 10)
    assert gunan["ratio_basis"]["previous_ci_low"] == pytest.approx(0.2077, abs=1e-4)  # 2 of 3, Wilson
    assert (wenlong["ratio"], wenlong["ratio_basis"]["raised"]) == ("0.3", False)  # 0 of 1: lower bound 0
    assert sampling.verify_manifest(m) == []
    assert query(
        home,
        "SELECT town_code, ratio, raised FROM checks.spotcheck_towns WHERE period = '2025-04' ORDER BY 1",
    ) == [(GUNAN, "0.4", True), (WENLONG, "0.3", False)]


@pytest.mark.flow
def test_sample_flow_through_prefect_and_verify_command(fresh, prefect_harness):
    from typer.testing import CliRunner

    from flows.sample import sample_flow
    from jiuzhu.commands.sample import app

    home = fresh
    summary = sample_flow(home=str(home.root), as_of="2025-04-03", period="2025-03")
    assert (summary["sample"]["population"], summary["sample"]["selected"]) == (12, 5)
    path = manifest_path(home, "2025-03")
    ok = CliRunner().invoke(app, ["verify", str(path)])
    assert ok.exit_code == 0 and "已核验" in ok.output
    tampered = manifest(home)
    town_entry(tampered, GUNAN)["selected"].pop()
    path.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    bad = CliRunner().invoke(app, ["verify", str(path)])
    assert bad.exit_code == 1 and "GN-10" in bad.output
    assert query(home, "SELECT flow, status FROM audit.runs WHERE flow = 'sample'") == [
        ("sample", "completed")
    ]


def test_synthetic_district_every_month_of_2025_is_sampled_and_verifies(tmp_path):
    """Replay the synthetic district's submissions day by day; on the first of each
    month sample the month before; every manifest verifies and every town meets k."""
    import synth

    synth.generate(tmp_path / "synth", households=40, seed=20250101)
    home = Home(tmp_path / "synth")
    info = json.loads((home.root / "synth.json").read_text("utf-8"))
    ingest_day(home, date.fromisoformat(info["baseline_as_of"]), baseline=True)
    days = [date.fromisoformat(d) for d in info["submission_days"]]
    assert {d.year for d in days} == {2025}
    for first in [date(2025, m, 1) for m in range(2, 13)] + [date(2026, 1, 1)]:
        for day in [d for d in days if d < first]:
            ingest_day(home, day)
        days = [d for d in days if d >= first]
        run_sample(home, first, previous_period(first), notify=False)
    first_approvals = query(
        home,
        "SELECT count(*) FROM core.case_versions WHERE is_first_approval AND NOT is_baseline "
        "AND ingested_on BETWEEN DATE '2025-01-01' AND DATE '2025-12-31' AND status = 'approved'",
    )[0][0]
    total = 0
    for month in range(1, 13):
        m = manifest(home, f"2025-{month:02d}")
        assert sampling.verify_manifest(m) == []
        for town in m["towns"]:
            assert (
                town["selected_count"]
                >= town["k"]
                == sampling.sample_size(town["population_count"], "0.3", 3)
            )
            assert list_path(home, m["period"], town["town_code"]).exists()
        total += m["totals"]["population"]
    assert 0 < total <= first_approvals  # void cases leave the population
    assert query(home, "SELECT count(*) FROM checks.spotcheck_draws") == [(12,)]
