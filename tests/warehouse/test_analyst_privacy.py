"""No free identifier in the analysts' copy (issue 14, item 3; SPEC §7, §9).

A town that numbers its cases by the applicant's ID number, and a clerk who types a phone
number and a new card number into 备注: after the copy is built, no text in any table of
analyst.duckdb or any Parquet file holds the raw ID, phone or account, in any form; the keys
that embedded the case number (version_id, finding_id) are keyed hashes that still join, the
same in every rebuild, under a key kept in the home outside out/."""

from __future__ import annotations

import hmac
import re
import stat
from datetime import date

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from helpers import REF, at, drop, ingest_all, make_id, row
from hypothesis import given, settings
from hypothesis import strategies as st

from core.home import Home
from flows.close_month import close_month_flow
from publish.analyst import analyst_key, analyst_key_path, build_analyst_copy
from transforms.identifiers import (
    keyed_hash,
    mask,
    mask_identifiers_expr,
    mask_identifiers_text,
    surname_expr,
)
from warehouse.connection import open_warehouse
from warehouse.hashing import keyed_hash_expr
from warehouse.mart import build_marts

GUNAN = "500110001"
CASE_ID = make_id("19700101", "004")  # 50011019700101004X: a town that numbers cases by ID
HEAD_ID = make_id("19800101", "001")
PHONE = "13812345678"
LANDLINE = "023-12345678"
NEW_CARD = "6217003810012345678"
CARD_GROUPED = "6217 0038 1001 2345 678"
REMARK = f"户主电话{PHONE}，座机{LANDLINE}，新卡号{NEW_CARD}（原卡 {CARD_GROUPED}）"
SECRETS = {
    "case number (ID)": CASE_ID,
    "ID, lower-case x": CASE_ID.lower(),
    "phone": PHONE,
    "phone, split": "138-1234-5678",
    "landline": "12345678",
    "new card": NEW_CARD,
    "new card, its digits in groups": CARD_GROUPED,
    "account of the case": "6222021234567890128",
}


def holds_secret(value: str) -> str | None:
    digits = re.sub(r"[^0-9Xx]", "", value)
    for label, secret in SECRETS.items():
        if secret in value or re.sub(r"[^0-9Xx]", "", secret) in digits and len(secret) >= 11:
            return label
    return None


def text_values(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(table, column, value) for every text value of every table, lists of text included."""
    out = []
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
    for schema, table in tables:
        frame = con.table(f'"{schema}"."{table}"').pl()
        for column in frame.columns:
            series = frame[column]
            if series.dtype == pl.List(pl.String):
                series = series.explode()
            if series.dtype == pl.String:
                out += [(f"{schema}.{table}", column, v) for v in series.drop_nulls().to_list()]
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("privacy")).ensure()
    lines = [
        row(case=CASE_ID, remark=REMARK, name="欧阳娜娜", id_no=HEAD_ID, benefit="450"),
        row(case="GN-2", name="张三丰", id_no=make_id("19820202", "002"), benefit="450"),
        row(case="GN-3", name="李四", id_no=make_id("19830303", "003"), benefit="999"),  # rejected: V09
    ]
    drop(home, GUNAN, "台账.csv", lines, at(25))
    ingest_all(home, date(2025, 3, 25))
    close_month_flow.fn(home=str(home.root), period="2025-04", as_of="2025-04-01", notify=False)
    with open_warehouse(home, flow="test") as con:
        build_marts(con, REF, "2025-04", "2025-04")
        build_analyst_copy(con, home, period="2025-04")
    return home


def test_the_raw_values_are_in_the_warehouse_to_begin_with(built):
    with open_warehouse(built, flow="test", read_only=True) as con:
        versions = con.execute(
            "SELECT version_id, remark FROM core.case_versions WHERE case_no = ?", [CASE_ID]
        )
        version_id, remark = versions.fetchall()[0]
        messages = con.execute("SELECT count(*) FROM checks.findings WHERE case_no = ?", [CASE_ID]).fetchall()
    assert CASE_ID in version_id and PHONE in remark and NEW_CARD in remark
    assert messages[0][0] > 0


def test_no_table_of_the_analyst_copy_holds_the_id_phone_or_account(built):
    con = duckdb.connect(str(built.analyst), read_only=True)
    values = text_values(con)
    assert len(values) > 200
    leaks = [(t, c, v, s) for t, c, v in values if (s := holds_secret(v))]
    assert leaks == []
    # what is left is still useful: the case number and the remark masked, not blanked
    cases = dict(con.execute("SELECT case_key, case_no FROM core.cases_current").fetchall())
    assert sorted(cases.values()) == sorted([mask(CASE_ID), "GN-2"])
    remark = con.execute("SELECT remark FROM core.case_versions WHERE remark IS NOT NULL").fetchall()[0][0]
    assert remark.startswith("户主电话138****5678") and "座机023-****5678" in remark
    assert remark.count("6217***********5678") == 2


def test_no_parquet_file_holds_the_id_phone_or_account(built):
    files = sorted((built.out / "analyst").glob("*.parquet"))
    assert {"core.case_versions.parquet", "checks.findings.parquet", "pay.payments.parquet"} <= {
        f.name for f in files
    }
    scanned = 0
    for path in files:
        table = pq.read_table(path)  # pyarrow, not our DuckDB: what an older tool sees
        for name, column in zip(table.column_names, table.columns, strict=True):
            if str(column.type) in ("string", "large_string", "string_view"):
                for value in column.to_pylist():
                    if value is not None:
                        assert holds_secret(value) is None, (path.name, name, value)
                        scanned += 1
    assert scanned > 200


def test_version_ids_are_keyed_hashes_that_still_join_findings_to_versions(built):
    with open_warehouse(built, flow="test", read_only=True) as con:
        raw_join = con.execute(
            "SELECT f.rule_id, v.case_no FROM checks.findings f JOIN core.case_versions v USING (version_id) "
            "ORDER BY ALL"
        ).fetchall()
        raw_ids = [r[0] for r in con.execute("SELECT version_id FROM core.case_versions").fetchall()]
    con = duckdb.connect(str(built.analyst), read_only=True)
    joined = con.execute(
        "SELECT f.rule_id, v.case_key FROM checks.findings f JOIN core.case_versions v USING (version_id) "
        "ORDER BY ALL"
    ).fetchall()
    assert len(joined) == len(raw_join) > 0
    assert {r for r, _ in joined} == {r for r, _ in raw_join}
    # members and current cases join their version too
    orphans = con.execute(
        "SELECT count(*) FROM core.members_current m ANTI JOIN core.case_versions v USING (version_id)"
    ).fetchall()
    assert orphans == [(0,)]
    key = analyst_key(built)
    ids = [r[0] for r in con.execute("SELECT version_id FROM core.case_versions").fetchall()]
    assert sorted(ids) == sorted(hmac.new(key, v.encode(), "sha256").hexdigest()[:32] for v in raw_ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in ids)


def test_case_key_joins_a_case_across_tables_where_its_number_is_masked(built):
    con = duckdb.connect(str(built.analyst), read_only=True)
    key = keyed_hash(f"{GUNAN}\x1f{CASE_ID}", analyst_key(built))
    for table in ("core.cases_current", "core.case_versions", "core.members_current", "pay.payments"):
        numbers = con.table(table).filter(duckdb.ColumnExpression("case_key") == duckdb.ConstantExpression(key)) \
            .project("case_no").distinct().fetchall()
        assert numbers == [(mask(CASE_ID),)], table


def test_pseudonyms_are_the_same_in_every_rebuild_and_the_key_stays_outside_out(built):
    def pseudonyms() -> dict:
        con = duckdb.connect(str(built.analyst), read_only=True)
        try:
            return {
                "versions": sorted(con.execute("SELECT version_id FROM core.case_versions").fetchall()),
                "findings": sorted(
                    con.execute("SELECT finding_id, version_id FROM checks.findings").fetchall()
                ),
                "cases": sorted(con.execute("SELECT case_key FROM pay.payments").fetchall()),
            }
        finally:
            con.close()

    first = pseudonyms()
    path = analyst_key_path(built)
    key_text = path.read_text(encoding="ascii").strip()
    built.analyst.unlink()  # a rebuild from nothing, as after a restore
    with open_warehouse(built, flow="test", read_only=True) as con:
        build_analyst_copy(con, built, period="2025-04")
    assert pseudonyms() == first and first["findings"]
    assert path.read_text(encoding="ascii").strip() == key_text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert built.out not in path.parents and path.parent == built.warehouse_dir
    con = duckdb.connect(str(built.analyst), read_only=True)
    assert not [v for _, _, v in text_values(con) if key_text in v]


def test_another_home_has_another_key(tmp_path):
    a, b = Home(tmp_path / "a").ensure(), Home(tmp_path / "b").ensure()
    assert analyst_key(a) != analyst_key(b) and analyst_key(a) == analyst_key(a)


def test_a_damaged_key_is_refused_not_replaced(tmp_path):
    home = Home(tmp_path).ensure()
    analyst_key_path(home).parent.mkdir(parents=True, exist_ok=True)
    analyst_key_path(home).write_text("not a key\n", encoding="ascii")
    with pytest.raises(ValueError, match="analyst.key"):
        analyst_key(home)
    assert analyst_key_path(home).read_text(encoding="ascii") == "not a key\n"


# ---------------------------------------------------------------- the expressions


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("50011019700101004X", "5001**********004X"),
        ("50011019700101004x", "5001**********004X"),
        ("GN-500222194512310025", "GN-5002**********0025"),
        ("案件500222194512310025：金额不符", "案件5002**********0025：金额不符"),
        ("500222451231002", "5002*******1002"),  # a 15-digit ID
        ("身份证 500222 19451231 0025", "身份证 5002**********0025"),
        ("原账号6222021234567890128", "原账号6222***********0128"),
        ("存折622202123456", "存折6222****3456"),
        ("卡号6222 0212 3456 7890 128", "卡号6222***********0128"),
        ("电话13812345678", "电话138****5678"),
        ("电话 138-1234-5678 或 139 1234 5678", "电话 138****5678 或 139****5678"),
        ("+8613812345678", "+8613*****5678"),
        ("座机023-12345678", "座机023-****5678"),
        ("（0755）87654321", "（0755）****4321"),
        ("１３８１２３４５６７８", "138****5678"),
        ("13812345678,13912345678", "138****5678,139****5678"),
    ],
)
def test_identifiers_are_masked_inside_text(text, masked):
    assert mask_identifiers_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "GN-2025-0001",
        "审批日期2025-03-20，公示2025-03-21至2025-03-27，月保障金额1260.00元",
        "人均收入 300 元，标准 770 元",
        "081b3f9d391d962e",  # a shortened file hash
        "1234567890",  # ten digits that are no phone
        "面积120.5平方米，车牌渝A12345",
        "",
    ],
)
def test_other_text_is_left_alone(text):
    assert mask_identifiers_text(text) == text


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(alphabet="户主电话新卡号：，。 abcXYZ-()（）", max_size=12),
    after=st.text(alphabet="户主电话新卡号：，。 abcXYZ-()（）", max_size=12),
    secret=st.sampled_from([CASE_ID, HEAD_ID, PHONE, NEW_CARD, "6222021234567890128", "500222451231002"]),
)
def test_a_planted_identifier_never_survives_whatever_surrounds_it(before, after, secret):
    out = mask_identifiers_text(before + secret + after)
    assert secret not in out and secret.lower() not in out
    assert out.startswith(before) and out.endswith(after)  # the text around it is kept


def test_expressions_over_a_column():
    frame = pl.DataFrame(
        {"x": [f"电话{PHONE}", "GN-1", None, f"GN-1 {PHONE}"], "n": ["欧阳娜娜", "王五", " ", "欧阳"]}
    )
    out = frame.select(
        mask_identifiers_expr(pl.col("x")).alias("x"),
        keyed_hash_expr(pl.col("x"), b"k" * 32).alias("k"),
        surname_expr(pl.col("n")).alias("n"),
    )
    assert out["x"].to_list() == ["电话138****5678", "GN-1", None, "GN-1 138****5678"]
    assert out["n"].to_list() == ["欧阳", "王", None, "欧"]
    assert out["k"][1] == hmac.new(b"k" * 32, b"GN-1", "sha256").hexdigest()[:32] and out["k"][2] is None


def test_the_column_hash_is_the_keyed_hash_of_each_value():
    values = ["GN-1", "3301061990010112", None, "张三\x1fDB2025000001", "", "GN-1", "x" * 300]
    repeated = values[::-1] * 3 + values  # few distinct values: each hashed once, joined back in order
    for key in (b"k" * 32, b"a longer key than one block of sixty-four bytes, so that it is hashed first"):
        column = pl.DataFrame({"x": values}).select(keyed_hash_expr(pl.col("x"), key))["x"].to_list()
        assert column == [keyed_hash(v, key) for v in values]
        again = pl.DataFrame({"x": repeated}).select(keyed_hash_expr(pl.col("x"), key))["x"].to_list()
        assert again == [keyed_hash(v, key) for v in repeated]
        assert column[1] == hmac.new(key, values[1].encode(), "sha256").hexdigest()[:32]
    assert pl.DataFrame({"x": [None, None]}, schema={"x": pl.String}).select(
        keyed_hash_expr(pl.col("x"), b"k"))["x"].to_list() == [None, None]
