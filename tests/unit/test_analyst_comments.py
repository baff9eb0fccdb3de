"""The analyst copy's comments (issue 16 item 4): one file, publish/analyst_comments.csv, read by the
copy's build and rendered into docs/warehouse.md; the two cannot drift."""

from __future__ import annotations

from publish.analyst_comments import DOCS, comment_statements, docs_section, load_comments, markdown


def test_docs_warehouse_md_holds_the_section_rendered_from_the_comments():
    section = docs_section(DOCS.read_text(encoding="utf-8"))
    assert section is not None, "docs/warehouse.md lost the markers of the analyst tables"
    assert section == markdown(), "run: python -m publish.analyst_comments --write"


def test_every_table_an_analyst_sees_is_described_with_every_column_typed():
    comments = load_comments()
    assert {
        "core.cases_current", "core.members_current", "core.case_versions", "checks.findings",
        "pay.batches", "pay.payments", "pay.holds", "pay.recoveries", "audit.runs",
        "mart.monthly_statistics", "meta.about", "meta.sources", "ref.towns",
    } <= set(comments)
    for doc in comments.values():
        assert doc.comment and doc.columns, doc.table
        assert all(c and t and text for c, t, text in doc.columns), doc.table
    periods = {(t, c): ty for t, doc in comments.items() for c, ty, _ in doc.columns if c in ("period", "period_owed")}
    assert periods and set(periods.values()) == {"VARCHAR"}, periods


def test_comment_statements_quote_the_text_and_skip_what_is_already_there():
    payments = load_comments()["pay.payments"]
    present = {"pay.payments": ["batch_no", "not_described"], "x.unknown": ["a"]}
    statements = comment_statements("c", present)
    assert statements[0].startswith('COMMENT ON TABLE "c"."pay"."payments" IS \'')
    assert statements[1].startswith('COMMENT ON COLUMN "c"."pay"."payments"."batch_no" IS \'')
    assert len(statements) == 2  # unknown tables and columns are left without a comment
    assert "'YYYYMM-" in statements[1].replace("''", "'")
    same = {("pay.payments", ""): payments.comment, ("pay.payments", "batch_no"): payments.columns[0][2]}
    assert comment_statements("c", present, same) == []
