"""The Great Expectations suite of the V-rules and its Data Docs (issue 4).

One expectation per rule id over the rule's result column, carrying the rule
id, our severity, payment blocking and the message template; GX's counts agree
with the findings; a failing warning never fails a run; Data Docs are written
to out/validation/ and hold no personal data in clear.
"""

from __future__ import annotations

import os
from datetime import date, datetime

import polars as pl
import pytest

from checks.gx_suite import (
    _gx,
    gx_frames,
    rule_expectations,
    suite_expectations,
    validate_results,
    value_sets_from_reference,
)
from checks.validation import SubmissionContext, submission_rule_results
from core.home import SHANGHAI, Home
from core.reference import load_reference
from flows.validate import gx_paths, run_validation
from intake.discover import discover
from intake.pipeline import CODED_FIELDS, IngestSettings, ingest_file
from transforms.catalogue import RULES
from transforms.identifiers import id_check_char
from transforms.submission import normalise_submission
from transforms.vrules import MEMBER_RULES, MESSAGE_TEMPLATES, VRULES, RuleResults, rule_findings
from warehouse.connection import open_warehouse

REF = load_reference()
TOWN = "500110001"


def make_id(born: str, seq: str = "001") -> str:
    first17 = f"500110{born}{seq}"
    return first17 + id_check_char(first17)


IDS = [
    make_id("19800101"),
    make_id("19490101", "002"),
    make_id("19700505", "003"),
    make_id("19650321", "004"),
]
NAMES = ["张三丰", "李四娘", "王五郎", "赵六妹"]
ACCOUNTS = ["6222021234567890128", "6222021234567890129"]


def submission() -> pl.DataFrame:
    """Four cases: clean, V09 + V15, V12 + V16, tekun V10 + V11 (names, IDs, accounts all real-looking)."""
    rows = []
    for i, (case, program, benefit, account, self_care) in enumerate(
        [
            ("GN-1", "城市低保", "450", ACCOUNTS[0], ""),
            ("GN-2", "城市低保", "999", ACCOUNTS[1], ""),
            ("GN-3", "城市低保", "450", "", ""),
            ("GN-4", "分散特困", "975", ACCOUNTS[0], ""),
        ]
    ):
        rows.append({
            "case_no": case, "town_code": TOWN, "program": program, "status": "批准", "applied_on": "2025-03-01",
            "received_on": "2025-03-03", "decided_on": "2025-03-20", "publicity_from": "2025-03-21",
            "publicity_to": "2025-03-27", "decided_level": "镇街", "monthly_benefit": benefit,
            "benefit_from": "2025-04", "account_no": account, "name": NAMES[i], "id_no": IDS[i],
            "relation": "户主", "covered": "是", "monthly_income": "300" if program == "城市低保" else "0",
            "self_care": self_care,
        })  # fmt: skip
    return pl.DataFrame(rows)


def rule_frame() -> RuleResults:
    typed, _ = normalise_submission(submission(), {f: REF.code_map(f) for f in CODED_FIELDS})
    ctx = SubmissionContext(TOWN, frozenset(REF.town_codes), date(2025, 4, 5), extra={"ref": REF})
    previous = pl.DataFrame(
        {"town_code": [TOWN] * 3, "case_no": ["GN-1", "GN-2", "GN-4"], "current_content_sha256": [None] * 3,
         "ever_approved": [False] * 3, "ever_decided": [False] * 3, "first_ingested_on": [date(2025, 3, 4)] * 3},
    )  # fmt: skip
    return submission_rule_results(typed, ctx, previous)


def test_one_expectation_per_rule_carrying_our_meta():
    _, gxe = _gx()
    sets = value_sets_from_reference(REF)
    expectations = {g: suite_expectations(gxe, sets, g) for g in ("cases", "members")}
    rules = {g: [e for e in es if (e.meta or {}).get("kind") == "rule"] for g, es in expectations.items()}
    assert sorted(e.meta["rule_id"] for es in rules.values() for e in es) == sorted(VRULES)
    assert sorted(e.column for e in rules["members"]) == sorted(MEMBER_RULES)  # at the member grain
    for e in rules["cases"] + rules["members"]:
        r = RULES[e.meta["rule_id"]]
        assert e.column == r.rule_id
        assert (e.meta["severity"], e.meta["blocks_payment"]) == (r.severity, r.blocks_payment)
        assert e.meta["message_template_zh"] == MESSAGE_TEMPLATES[r.rule_id]
        assert r.title_zh in e.description
    assert [x.rule_id for x in rule_expectations() if x.blocks_payment] == ["V08", "V12"]
    structure = [e for es in expectations.values() for e in es if (e.meta or {}).get("kind") == "structure"]
    assert {type(e).__name__ for e in structure} >= {
        "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToMatchRegex", "ExpectCompoundColumnsToBeUnique",
        "ExpectColumnValuesToBeOfType", "ExpectColumnValuesToBeUnique",
    }  # fmt: skip


def test_gx_counts_agree_with_the_findings_and_a_failing_warning_does_not_fail(tmp_path):
    results = rule_frame()
    findings = rule_findings(results)
    expected = dict(findings.group_by("rule_id").len().iter_rows())
    assert expected == {"V09": 1, "V15": 1, "V12": 1, "V16": 1, "V10": 1, "V11": 1}
    out = validate_results(
        results, site_dir=tmp_path / "docs", results_dir=tmp_path / "res", run_name="t1",
        value_sets=value_sets_from_reference(REF),
    )  # fmt: skip
    assert {r: n for r, n in out.unexpected.items() if n} == expected
    assert sorted(out.failed_errors) == ["V09", "V10", "V11", "V12"]
    assert sorted(out.failed_warnings) == ["V15", "V16"]
    assert out.structure_failures == []
    assert out.gx_success is False  # GX's verdict; ours is in failed_errors / failed_warnings

    only_warning = RuleResults(
        cases=results.cases.with_columns(
            pl.lit(True).alias(r) for r in VRULES if r not in MEMBER_RULES | {"V16"}
        ),
        members=results.members.with_columns(pl.lit(True).alias(r) for r in MEMBER_RULES),
    )
    warn = validate_results(
        only_warning, site_dir=tmp_path / "docs", results_dir=tmp_path / "res", run_name="t2",
        value_sets=value_sets_from_reference(REF),
    )  # fmt: skip
    assert (warn.failed_errors, warn.failed_warnings) == ([], ["V16"])


def test_structural_expectations_report_bad_structure_without_findings(tmp_path):
    results = rule_frame()
    broken = RuleResults(
        cases=results.cases.with_columns(town=pl.lit("50011000X")),
        members=pl.concat([results.members, results.members.head(1)]),
    )
    out = validate_results(
        broken, site_dir=tmp_path / "docs", results_dir=tmp_path / "res", run_name="t3",
        value_sets=value_sets_from_reference(REF),
    )  # fmt: skip
    assert "同一案件版本内行号唯一" in out.structure_failures
    assert "镇街代码为9位数字" in out.structure_failures
    assert {r: n for r, n in out.unexpected.items() if n} == dict(
        rule_findings(broken).group_by("rule_id").len().iter_rows()
    )


def test_gx_frames_have_no_names_ids_accounts_or_case_numbers():
    frames = gx_frames(rule_frame())
    text = "".join(f.write_csv() for f in frames.values())
    assert not any(x in text for x in IDS + NAMES + ACCOUNTS + ["GN-1", "GN-2"])
    assert (frames["cases"].height, frames["members"].height) == (4, 4)


@pytest.fixture
def ingested_home(tmp_path) -> Home:
    home = Home(tmp_path).ensure()
    path = home.inbox / TOWN / "报送.csv"
    path.parent.mkdir(parents=True)
    submission().write_csv(path)
    ts = datetime(2025, 4, 5, 9, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))
    with open_warehouse(home, flow="test") as con:
        for c in discover(home, frozenset(REF.town_codes), date(2025, 4, 5)).candidates:
            ingest_file(con, home, REF, c, IngestSettings(date(2025, 4, 5), "run-1"))
    return home


def test_data_docs_in_out_validation_show_the_rules_and_no_personal_data(ingested_home):
    home = ingested_home
    s = run_validation(home, date(2025, 4, 5), all_versions=False, notify=False)  # the day's versions
    site, stored = gx_paths(home)
    assert site == home.out / "validation"
    assert (site / "index.html").is_file()
    pages = sorted((site / "validations").rglob("*.html"))
    assert [p.parent.parent.parent.name for p in pages] == ["jiuzhu_case_rules", "jiuzhu_member_rules"]
    assert all(s["gx_run"] in str(p) for p in pages)
    assert "V09 月保障金额与核算金额不符" in pages[0].read_text(encoding="utf-8")
    assert "V11 特困供养人员缺少自理能力评估" in pages[1].read_text(encoding="utf-8")
    suite_page = next((site / "expectations").rglob("*.html")).read_text(encoding="utf-8")
    assert MESSAGE_TEMPLATES["V09"].split("{")[0] in suite_page  # the template rides along in the notes
    everything = "".join(
        p.read_text(encoding="utf-8", errors="ignore")
        for folder in (site, stored)
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".html", ".json")
    )
    assert not any(x in everything for x in IDS + NAMES + ACCOUNTS)
    # the run's counts agree with the findings it recorded for these versions
    with open_warehouse(home, flow="test") as con:
        rows = con.execute(
            "SELECT rule_id, count(*) FROM checks.findings WHERE rule_id LIKE 'V%' GROUP BY 1"
        ).fetchall()
    assert {r: n for r, n in s["gx_unexpected"].items() if n} == dict(rows)


def test_a_second_run_adds_a_page_and_keeps_the_first(ingested_home):
    home = ingested_home
    first = run_validation(home, date(2025, 4, 6), all_versions=True, notify=False)
    second = run_validation(home, date(2025, 4, 7), all_versions=True, notify=False)
    site, _ = gx_paths(home)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert first["gx_run"] in index and second["gx_run"] in index
