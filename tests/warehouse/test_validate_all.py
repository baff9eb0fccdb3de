"""`jiuzhu run validate --all` (issue 4): every current version re-checked against
the current reference data. It opens and clears findings, never double-counts
them, and never changes which version is current.

These call flows.validate.run_validation (the flow's body, without Prefect) on
homes built with intake.pipeline.ingest_file.
"""

from __future__ import annotations

import os
from datetime import date, datetime

import polars as pl
import pytest

from core.home import SHANGHAI, Home
from core.reference import SHIPPED, load_reference
from flows.validate import run_validation
from intake.discover import discover
from intake.pipeline import IngestSettings, ingest_file
from transforms.identifiers import id_check_char
from warehouse.connection import open_warehouse

REF = load_reference()
TOWN = "500110001"
HEADER = ("案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,审批日期,公示开始日期,公示结束日期,审批层级,"
          "月保障金额,起始发放月份,银行账号,姓名,身份证号,与户主关系,是否保障对象,月收入")  # fmt: skip


def make_id(born: str, seq: str = "001") -> str:
    first17 = f"500110{born}{seq}"
    return first17 + id_check_char(first17)


def line(
    case="GN-001", status="批准", benefit="450", income="300", id_no=None, relation="户主", account=None
):
    id_no = id_no or make_id("19800101")
    account = "6222021234567890128" if account is None else account
    return (f"{case},{TOWN},城市低保,{status},2025-03-01,2025-03-03,2025-03-20,2025-03-21,2025-03-27,镇街,"
            f"{benefit},2025-04,{account},张三,{id_no},{relation},是,{income}")  # fmt: skip


def drop(home: Home, name: str, lines: list[str], day: int) -> None:
    path = home.inbox / TOWN / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    ts = datetime(2025, 3, day, 9, 0, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))


def ingest(home: Home, day: int, baseline: bool = False):
    as_of = date(2025, 3, day)
    with open_warehouse(home, flow="test") as con:
        return [
            ingest_file(con, home, REF, c, IngestSettings(as_of, f"run-{day}", baseline))
            for c in discover(home, frozenset(REF.town_codes), as_of).candidates
        ]


def query(home: Home, q: str):
    with open_warehouse(home, flow="test") as con:
        return con.execute(q).fetchall()


def correct_urban_standard(home: Home, amount: str | None) -> None:
    """Drop (or remove) a corrected standards table in the home's reference/ folder."""
    target = home.reference / "standards.csv"
    if amount is None:
        target.unlink(missing_ok=True)
        return
    text = (SHIPPED / "standards.csv").read_text(encoding="utf-8")
    target.write_text(
        text.replace("2024-07-01,dibao_urban,750,", f"2024-07-01,dibao_urban,{amount},"), "utf-8"
    )


@pytest.fixture
def home(tmp_path) -> Home:
    h = Home(tmp_path).ensure()
    # the application first (so the approval is no V16), then the approval, clean
    drop(h, "a.csv", [line(status="待审批", benefit="")], 4)
    drop(h, "b.csv", [line()], 21)
    ingest(h, 4)
    ingest(h, 21)
    return h


def v_findings(home: Home):
    return query(
        home, "SELECT rule_id, status, cleared_by FROM checks.findings WHERE rule_id LIKE 'V%' ORDER BY 1"
    )


def current(home: Home):
    return query(home, "SELECT version_id, status FROM core.case_versions WHERE is_current ORDER BY 1")


def test_standards_correction_opens_then_clears_without_changing_current(home):
    before = current(home)
    assert v_findings(home) == []
    correct_urban_standard(home, "752")  # entitlement 452: 2 yuan off
    s = run_validation(home, date(2025, 4, 1), all_versions=True, gx=False)
    assert (s["findings_new"], s["findings_cleared"]) == (1, 0)
    assert v_findings(home) == [("V09", "open", None)]
    assert query(home, "SELECT message FROM checks.findings") == [
        ("案件GN-001：月保障金额450.00元与核算金额452.00元相差2.00元（按2025-03保障标准核算）",)
    ]
    assert current(home) == before

    again = run_validation(home, date(2025, 4, 2), all_versions=True, gx=False)
    assert (again["findings_new"], again["findings_reopened"], again["findings_cleared"]) == (0, 0, 0)
    assert query(home, "SELECT count(*) FROM checks.findings") == [(1,)]

    correct_urban_standard(home, None)  # the correction is withdrawn
    cleared = run_validation(home, date(2025, 4, 3), all_versions=True, gx=False)
    assert cleared["findings_cleared"] == 1
    assert query(home, "SELECT status, cleared_by, cleared_how, status_changed_on, clear_reason IS NOT NULL "
                       "FROM checks.findings") == [("cleared", "validate --all", "auto", date(2025, 4, 3), True)]  # fmt: skip
    assert run_validation(home, date(2025, 4, 4), all_versions=True, gx=False)["findings_cleared"] == 0
    assert current(home) == before

    correct_urban_standard(home, "752")  # back again: the same finding opens again
    reopened = run_validation(home, date(2025, 4, 5), all_versions=True, gx=False)
    assert (reopened["findings_new"], reopened["findings_reopened"]) == (0, 1)
    assert v_findings(home) == [("V09", "open", None)]


def test_a_finding_cleared_by_an_officer_stays_cleared(home):
    correct_urban_standard(home, "752")
    run_validation(home, date(2025, 4, 1), all_versions=True, gx=False)
    with open_warehouse(home, flow="test") as con:
        con.execute(
            "UPDATE checks.findings SET status = 'cleared', cleared_how = 'officer', cleared_by = 'M001'"
        )
    s = run_validation(home, date(2025, 4, 2), all_versions=True, gx=False)
    assert (s["findings_new"], s["findings_reopened"]) == (0, 0)
    assert v_findings(home) == [("V09", "cleared", "M001")]


def test_only_current_versions_are_rechecked_and_rejected_ones_keep_their_findings(home):
    drop(home, "c.csv", [line(benefit="999")], 22)  # a rejected newer version (V09)
    ingest(home, 22)
    assert v_findings(home) == [("V09", "open", None)]
    s = run_validation(home, date(2025, 4, 1), all_versions=True, gx=False)
    assert (s["versions"], s["findings_cleared"]) == (1, 0)
    assert v_findings(home) == [("V09", "open", None)]
    assert query(home, "SELECT acceptance FROM core.case_versions WHERE is_current") == [("loaded",)]


def test_baseline_versions_are_rechecked_with_the_baseline_rules_only(tmp_path):
    h = Home(tmp_path).ensure()
    drop(h, "base.csv", [line(benefit="1", account="")], 1)  # V09 ignored at baseline; V12 applies
    ingest(h, 1, baseline=True)
    assert v_findings(h) == [("V12", "open", None)]
    s = run_validation(h, date(2025, 4, 1), all_versions=True, gx=False)
    assert s["findings_by_rule"] == {"V12": 1} and s["findings_new"] == 0
    assert query(h, "SELECT held, is_current FROM core.case_versions") == [(True, True)]


def test_validate_run_is_audited_with_its_clearings(home):
    correct_urban_standard(home, "752")
    run_validation(home, date(2025, 4, 1), all_versions=True, gx=False)
    correct_urban_standard(home, None)
    run_validation(home, date(2025, 4, 2), all_versions=True, gx=False)
    runs = query(home, "SELECT status, as_of FROM audit.runs WHERE flow = 'validate' ORDER BY as_of")
    assert runs == [("completed", date(2025, 4, 1)), ("completed", date(2025, 4, 2))]
    [(detail,)] = query(home, "SELECT detail_json FROM audit.events WHERE kind = 'findings_cleared'")
    [(fid,)] = query(home, "SELECT finding_id FROM checks.findings")
    assert fid in detail


def test_towns_hear_about_findings_newly_opened_by_revalidation(home):
    correct_urban_standard(home, "752")
    s = run_validation(home, date(2025, 4, 1), all_versions=True, gx=False)
    assert s["notified"] == {TOWN: "delivered"}
    outbox = "\n".join(p.read_text(encoding="utf-8") for p in home.outbox.rglob("*") if p.is_file())
    assert "案件 GN-001｜V09｜月保障金额450.00元与核算金额452.00元相差2.00元" in outbox  # rule and case said once
    assert "V09：1 项" in outbox  # still open
    again = run_validation(home, date(2025, 4, 2), all_versions=True, gx=False)
    assert "notified" not in again  # nothing new the second time


def test_without_all_the_days_versions_are_revalidated_and_nothing_is_cleared(home):
    correct_urban_standard(home, "752")
    s = run_validation(home, date(2025, 3, 21), all_versions=False, gx=False)
    assert (s["scope"], s["versions"], s["findings_new"]) == ("day", 1, 1)
    correct_urban_standard(home, None)
    s = run_validation(home, date(2025, 3, 21), all_versions=False, gx=False)
    assert s["findings_cleared"] == 0
    assert v_findings(home) == [("V09", "open", None)]


# ---------------------------------------------------------------- the synthetic district


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A small synthetic district replayed day by day through ingest (no Prefect):
    the baseline, then each submission day. Towns without a planted V-anomaly are
    left out to keep the replay short."""
    import synth
    home = Home(tmp_path_factory.mktemp("synth") / "home")
    summary = synth.generate(home.root, households=200, seed=20260401, formats="csv")
    truth = pl.read_csv(home.ground_truth, infer_schema=False)
    towns = set(truth.filter(pl.col("rule_id").str.starts_with("V"))["town_code"].to_list())
    ref = load_reference(home.reference)
    days = [(summary.baseline_as_of, True)] + [(d, False) for d in sorted(set(summary.submission_days))]
    seen: set[str] = set()
    with open_warehouse(home, flow="test", ref=ref) as con:
        for day, baseline in days:
            for c in discover(home, frozenset(ref.town_codes), day).candidates:
                if c.rel_path in seen or c.folder not in towns:
                    continue
                seen.add(c.rel_path)
                ingest_file(con, home, ref, c, IngestSettings(day, f"replay-{day}", baseline))
        findings = con.sql(
            "SELECT rule_id, severity, town_code, case_no, id_no, file_sha256 FROM checks.findings"
        ).pl()
    return home, truth.filter(pl.col("town_code").is_in(towns)), findings, summary


@pytest.mark.slow  # a synthetic district: the flows tier
def test_synthetic_district_every_planted_v_anomaly_is_found_on_its_case(synthetic):
    _, truth, findings, _ = synthetic
    planted = (
        truth.filter(pl.col("rule_id").str.starts_with("V"))
        .select("rule_id", "town_code", "case_no")
        .unique()
    )
    assert planted.height >= 16
    found = findings.select("rule_id", "town_code", "case_no").unique()
    missed = planted.join(found, on=["rule_id", "town_code", "case_no"], how="anti")
    assert missed.to_dicts() == []  # recall 100 %


@pytest.mark.slow  # a synthetic district: the flows tier
def test_synthetic_district_no_error_on_a_clean_case(synthetic):
    _, truth, findings, _ = synthetic
    planted_cases = truth.filter(pl.col("case_no").is_not_null()).select("town_code", "case_no").unique()
    errors = findings.filter((pl.col("severity") == "error") & pl.col("case_no").is_not_null())
    false_errors = errors.join(planted_cases, on=["town_code", "case_no"], how="anti")
    assert false_errors.select("rule_id", "town_code", "case_no").to_dicts() == []


@pytest.mark.slow  # a synthetic district: the flows tier
def test_synthetic_district_validate_all_finds_the_same_and_changes_nothing(synthetic):
    home, _, findings, summary = synthetic
    before = query(home, "SELECT version_id FROM core.case_versions WHERE is_current ORDER BY 1")
    s = run_validation(home, summary.as_of, all_versions=True, gx=False, notify=False)
    assert (s["findings_new"], s["findings_reopened"], s["findings_cleared"]) == (0, 0, 0)
    assert query(home, "SELECT count(*) FROM checks.findings") == [(findings.height,)]
    assert query(home, "SELECT version_id FROM core.case_versions WHERE is_current ORDER BY 1") == before
