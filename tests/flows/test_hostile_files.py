"""Hostile and unlucky files (issue 14): bombs and oversized files are refused with a P01
receipt in bounded memory, a 255-byte file name still gets its return files, and a cell
longer than Excel holds is cut with a word in the return workbook.

Limits come from settings (max_file_bytes, max_rows_per_file, max_xlsx_member_bytes,
max_xlsx_compression_ratio); the reader-level tests pass small `FileLimits` to stay fast,
the end-to-end tests run with the shipped ones. Memory is measured in bench/bench_limits.py;
here it is only bounded loosely, in a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
import xlwt
from helpers import REF, at, drop, ingest_all, query, row
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from bench.bench_limits import csv_rows, sparse_file, sparse_xlsx, xlsx_bomb, xlsx_with_sheet
from core.home import Home
from core.reference import load_reference
from intake.readers import FileLimits, read_submission
from publish.files import write_workbook
from publish.returns import NAME_MAX_BYTES, RETURN_SUFFIXES, stem
from transforms.returns import EXCEL_CELL_MAX, return_rows

HEADER_MAP, REQUIRED = REF.header_map(), REF.required_fields()
TOWN = "500110001"
HEADERS = ["案件编号", "镇街代码", "救助类别", "案件状态", "申请日期", "受理日期", "姓名", "身份证号", "与户主关系",
           "是否保障对象"]
VALUES = ["QJ-1", TOWN, "城市低保", "批准", "2025-03-01", "2025-03-02", "张三", "11010519491231002X", "户主", "是"]
SMALL = FileLimits(max_file_bytes=1 << 20, max_rows=1_000, max_member_bytes=4 << 20, max_compression_ratio=100)


def read(path: Path, limits: FileLimits | None = None):
    return read_submission(path, HEADER_MAP, REQUIRED, limits=limits)


def refused(path: Path, limits: FileLimits | None = None) -> str:
    result = read(path, limits)
    assert not result.ok, f"{path.name} was read"
    [problem] = result.problems
    assert problem.rule_id == "P01"
    return problem.message_zh


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


def receipt_of(home: Home, stem_start: str) -> dict:
    [path] = (home.out / "returns" / TOWN).glob(f"{stem_start}.*.回执.json")
    return json.loads(path.read_text("utf-8"))


# ---------------------------------------------------------------- end to end, shipped limits


def test_hostile_files_get_a_p01_receipt_naming_the_limit_and_the_rest_still_loads(home, tmp_path):
    limits = FileLimits.from_reference(REF)
    folder = home.inbox / TOWN
    folder.mkdir(parents=True)
    drop(home, TOWN, "正常.csv", [row(benefit="450")], at(5))
    xlsx_bomb(folder / "炸弹.xlsx", expanded_mb=200)
    sparse_xlsx(folder / "远单元格.xlsx")
    csv_rows(folder / "超行.csv", limits.max_rows + 1, row="x")
    sparse_file(folder / "超大.csv", limits.max_file_bytes + 1)
    for p in folder.iterdir():
        os.utime(p, (at(5).timestamp(), at(5).timestamp()))

    outcomes = {Path(o.rel_path).stem: o for o in ingest_all(home, date(2025, 3, 5))}

    assert {name: o.status for name, o in outcomes.items()} == {
        "正常": "loaded", "炸弹": "unreadable", "远单元格": "unreadable", "超行": "unreadable", "超大": "unreadable",
    }
    expected = {
        "炸弹": ["压缩比", "超过上限100倍", "xl/worksheets/sheet1.xml"],
        "远单元格": ["工作表“台账”的数据区域为1,048,576行×16,384列", "64,000,000个单元格"],
        "超行": ["超过每个文件1,000,000行的上限"],
        "超大": ["文件过大", "（268,435,457字节），超过每个文件256 MB（268,435,456字节）的上限"],
    }
    for name, phrases in expected.items():
        receipt = receipt_of(home, name)
        assert receipt["rows_read"] == receipt["rows_accepted"] == receipt["rows_rejected"] == 0
        assert receipt["findings_by_rule"] == {"P01": 1}
        for phrase in phrases:
            assert phrase in receipt["error"], (name, receipt["error"])
    good = receipt_of(home, "正常")
    assert (good["rows_read"], good["rows_accepted"]) == (1, 1)
    assert query(home, "SELECT count(*) FROM core.cases_current") == [(1,)]
    assert query(home, "SELECT count(*) FROM checks.findings WHERE rule_id = 'P01'") == [(4,)]


def test_hostile_reads_stay_in_bounded_memory(tmp_path):
    """Before the limits, this 4.9 MB bomb (1 GiB of sheet XML) took 2.5 GB and 38 s to read,
    and the 6 KB sparse workbook aborted the process. Read in a child process capped at 4 GiB
    of address space, all are refused while its peak RSS grows by less than 300 MiB."""
    limits = FileLimits.from_reference(REF)
    files = [
        xlsx_bomb(tmp_path / "bomb.xlsx", expanded_mb=1024),
        xlsx_bomb(tmp_path / "liar.xlsx", expanded_mb=1024, declared_ratio=50),
        sparse_xlsx(tmp_path / "sparse.xlsx"),
        csv_rows(tmp_path / "rows.csv", limits.max_rows + 1, row="x"),
    ]
    child = textwrap.dedent(
        """
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        from pathlib import Path
        import fastexcel, polars
        from bench.bench_limits import peak_rss_mib
        from intake.readers import default_limits, read_submission
        from core.reference import load_reference
        ref = load_reference()
        default_limits()
        before = peak_rss_mib()
        out = [read_submission(Path(p), ref.header_map(), ref.required_fields()).ok for p in sys.argv[1:]]
        growth_mib = peak_rss_mib() - before
        print(json.dumps({"read": out, "growth_mib": growth_mib}))
        """
    )
    done = subprocess.run([sys.executable, "-c", child, *map(str, files)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["read"] == [False, False, False, False]
    assert got["growth_mib"] < 300


# ---------------------------------------------------------------- CSV


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_csv_at_the_row_limit_is_read_and_one_row_more_is_refused(tmp_path):
    at_limit = csv_rows(tmp_path / "at.csv", SMALL.max_rows)
    result = read(at_limit, SMALL)
    assert result.ok and result.rows.height == SMALL.max_rows
    over = csv_rows(tmp_path / "over.csv", SMALL.max_rows + 1)
    assert "超过每个文件1,000行的上限" in refused(over, SMALL)


def test_csv_rows_are_records_not_lines_and_empty_records_do_not_count(tmp_path):
    header = "案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,姓名,身份证号,与户主关系,是否保障对象,备注"
    record = 'QJ-1,500110001,城市低保,批准,2025-03-01,2025-03-02,张三,11010519491231002X,户主,是,"第一行\n第二行"'
    # 1,000 records of two lines each, then 2,000 empty records as Excel leaves them: 4,001 lines
    path = write_csv(tmp_path / "a.csv", [header] + [record] * SMALL.max_rows + [",,,,,,,,,,"] * 2_000)
    result = read(path, SMALL)
    assert result.ok and result.rows.height == SMALL.max_rows
    assert result.rows["remark"][0] == "第一行\n第二行"


def test_csv_wider_than_the_cell_limit_is_refused_before_it_is_loaded(tmp_path):
    header = "案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,姓名,身份证号,与户主关系,是否保障对象"
    wide = ",".join(["x"] * 70_000)  # one record 70,000 cells wide: padded, 900 rows would be 63M cells
    path = write_csv(tmp_path / "wide.csv", [header, wide] + ["QJ-1,500110001"] * 900)
    message = refused(path, SMALL)
    assert "70,000列" in message and "64,000个单元格" in message


def test_ragged_csv_keeps_its_extra_cells(tmp_path):
    header = "案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,姓名,身份证号,与户主关系,是否保障对象"
    base = "QJ-1,500110001,城市低保,批准,2025-03-01,2025-03-02,张三,11010519491231002X,户主,是"
    path = write_csv(tmp_path / "ragged.csv", [header, base, base + ",多出来的,还有", base + ",一个"])
    result = read(path, SMALL)
    assert result.ok and result.rows.height == 3
    extras = [json.loads(e) if e else None for e in result.rows["extra_json"]]
    assert extras[1] == {"列11": "多出来的", "列12": "还有"}
    assert extras[2]["列11"] == "一个"


def test_file_over_the_size_limit_is_refused_with_its_size(tmp_path):
    path = sparse_file(tmp_path / "big.csv", SMALL.max_file_bytes + 1)
    assert "文件大小为1.0 MB（1,048,577字节），超过每个文件1 MB（1,048,576字节）的上限" in refused(path, SMALL)


# ---------------------------------------------------------------- JSON and xls


def test_json_cases_and_members_are_counted_against_the_row_limit(tmp_path):
    member = {"姓名": "张三", "身份证号": "11010519491231002X", "与户主关系": "户主", "是否保障对象": "是"}
    case = {"案件编号": "QJ-1", "镇街代码": TOWN, "救助类别": "城市低保", "案件状态": "批准",
            "申请日期": "2025-03-01", "受理日期": "2025-03-02", "members": [member]}
    at_limit = tmp_path / "at.json"
    at_limit.write_text(json.dumps([case] * SMALL.max_rows, ensure_ascii=False), encoding="utf-8")
    assert read(at_limit, SMALL).rows.height == SMALL.max_rows
    many_cases = tmp_path / "cases.json"
    many_cases.write_text(json.dumps([case] * (SMALL.max_rows + 1), ensure_ascii=False), encoding="utf-8")
    assert "超过每个文件1,000行的上限" in refused(many_cases, SMALL)
    many_members = tmp_path / "members.json"
    many_members.write_text(json.dumps([case | {"members": [member] * 600}] * 2, ensure_ascii=False), "utf-8")
    assert "超过每个文件1,000行的上限" in refused(many_members, SMALL)


def test_xls_is_bounded_by_its_size(tmp_path):
    wb = xlwt.Workbook()
    ws = wb.add_sheet("台账")
    for c, h in enumerate(HEADERS):
        ws.write(0, c, h)
    for r in range(1, 501):
        for c, v in enumerate(VALUES[:6] + [f"张{r}"] + VALUES[7:]):
            ws.write(r, c, v)
    path = tmp_path / "legacy.xls"
    wb.save(str(path))
    assert read(path, SMALL).rows.height == 500
    tiny = FileLimits(path.stat().st_size - 1, 10_000, 1 << 30, 100)
    assert "超过每个文件" in refused(path, tiny)


# ---------------------------------------------------------------- xlsx


def test_xlsx_member_over_the_uncompressed_limit_is_refused_before_extraction(tmp_path):
    bomb = xlsx_bomb(tmp_path / "big.xlsx", expanded_mb=8)
    lenient_ratio = FileLimits(SMALL.max_file_bytes, SMALL.max_rows, SMALL.max_member_bytes, 100_000)
    message = refused(bomb, lenient_ratio)
    assert "“xl/worksheets/sheet1.xml”解压后为8.0 MB，超过上限4 MB，未解压" in message


def test_zip_directory_that_lies_about_a_size_is_refused_as_damaged(tmp_path):
    liar = xlsx_bomb(tmp_path / "liar.xlsx", expanded_mb=50, declared_ratio=50)
    assert "Excel文件已损坏" in refused(liar)


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("content.xml", "<office:document-content/>")  # an ODS, say
    assert "不是有效的Excel文件" in refused(path)


CELL = b'<c r="A1" t="inlineStr"><is><t>x</t></is></c>'
FAR_AWAY_CELLS = {
    "r last": b'<row r="1"><c t="inlineStr" r="XFD1048576"><is><t>x</t></is></c></row>',
    "single quotes": b"<row r=\"1\"><c r='XFD1048576' t=\"inlineStr\"><is><t>x</t></is></c></row>",
    "entity": b'<row r="1"><c r="&#88;FD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
    "lower case": b'<row r="1"><c r="xfd1048576" t="inlineStr"><is><t>x</t></is></c></row>',
    "prefixed": b'<row r="1"><x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'r="XFD1048576" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c></row>',
    "quoted >": b'<row r="1"><c foo=">" r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
    "counted columns": b"<row>" + b'<c t="inlineStr"><is><t>x</t></is></c>' * 100 + b"</row>"
    b'<row r="1048576"><c t="inlineStr"><is><t>x</t></is></c></row>',
}


def test_cells_placed_far_away_in_any_spelling_are_refused_without_reaching_the_reader(tmp_path):
    """The Excel reader allocates the whole used range: one cell at XFD1048576 is 17 billion
    cells, and it aborts the process. Each spelling is read in a child process, so that a
    regression fails this test instead of killing the test run."""
    files = {name: xlsx_with_sheet(tmp_path / f"{i}.xlsx", xml) for i, (name, xml) in enumerate(FAR_AWAY_CELLS.items())}
    child = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from intake.readers import read_submission
        from core.reference import load_reference
        ref = load_reference()
        for p in sys.argv[1:]:
            r = read_submission(Path(p), ref.header_map(), ref.required_fields())
            print(json.dumps([r.ok, r.problems[0].message_zh if r.problems else None], ensure_ascii=False), flush=True)
        """
    )
    done = subprocess.run([sys.executable, "-c", child, *map(str, files.values())], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    results = dict(zip(files, (json.loads(line) for line in done.stdout.splitlines()), strict=True))
    for name, (ok, message) in results.items():
        assert not ok and "数据区域为1,048,576行" in message, (name, message)


def test_sheets_written_without_cell_references_or_wide_are_still_read(tmp_path):
    def cells(texts):
        return b"".join(f'<c t="inlineStr"><is><t>{t}</t></is></c>'.encode() for t in texts)

    no_refs = xlsx_with_sheet(tmp_path / "no_refs.xlsx", b"".join(b"<row>" + cells(r) + b"</row>" for r in
                                                                   [HEADERS, VALUES, VALUES]))
    result = read(no_refs)
    assert result.ok and result.rows.height == 2 and result.rows["name"].to_list() == ["张三", "张三"]

    wide = tmp_path / "wide.xlsx"  # 70 columns: beyond the fast scan's 64, well within the cell limit
    wb = xlsxwriter.Workbook(str(wide))
    ws = wb.add_worksheet("台账")
    ws.write_row(0, 0, HEADERS + [f"附加{i}" for i in range(60)])
    ws.write_row(1, 0, VALUES + ["v"] * 60)
    wb.close()
    result = read(wide)
    assert result.ok and result.rows.height == 1
    assert len(json.loads(result.rows["extra_json"][0])) == 60


# ---------------------------------------------------------------- settings


def test_limits_are_the_settings_and_an_old_override_falls_back_to_the_shipped_ones(tmp_path):
    settings = {k: v for k, v in REF["settings"].select("key", "value").iter_rows()}
    assert FileLimits.from_reference(REF) == FileLimits(
        int(settings["max_file_bytes"]), int(settings["max_rows_per_file"]),
        int(settings["max_xlsx_member_bytes"]), int(settings["max_xlsx_compression_ratio"]),
    )
    (tmp_path / "settings.csv").write_text("key,value\ngo_live_month,2025-04\nmax_rows_per_file,500\n", "utf-8")
    home_limits = FileLimits.from_reference(load_reference(tmp_path))
    assert home_limits.max_rows == 500
    assert home_limits.max_file_bytes == int(settings["max_file_bytes"])


# ---------------------------------------------------------------- long file names


@pytest.mark.parametrize("name", [
    "甲" * 83 + "ab.csv",  # 255 bytes
    "a" * 251 + ".csv",
    "😀" * 62 + "abc.xlsx",  # four-byte characters
    "乙" * 10 + ".csv",  # short: unchanged
])
def test_every_name_built_from_a_stem_fits_255_bytes(name):
    sha = "0123456789abcdef" * 4
    got = stem(name, sha)
    assert got.endswith(".01234567")
    kept = got[: -len(".01234567")]
    assert Path(name).stem.startswith(kept)
    if len(name.encode()) < 100:
        assert kept == Path(name).stem
    for suffix in RETURN_SUFFIXES:
        temporary = f".{got}{suffix}.abcdefgh.tmp"  # what publish.files.atomic_target makes
        assert len(os.fsencode(temporary)) <= NAME_MAX_BYTES


def test_a_255_byte_file_name_gets_its_receipt_and_return_file_every_run(home):
    name = "綦江区古南街道城乡低保对象动态管理台账" * 4 + "甲" * 7 + "ab.csv"
    assert len(name.encode()) == 255
    drop(home, TOWN, name, [row(), row(name="李四", id_no="11010519491231002X", relation="表亲")], at(5))
    [o] = ingest_all(home, date(2025, 3, 5))
    assert o.status == "loaded"
    folder = home.out / "returns" / TOWN
    made = sorted(p.name for p in folder.iterdir())
    assert len(made) == 2 and all(len(n.encode()) <= NAME_MAX_BYTES for n in made)
    [receipt] = folder.glob("*.回执.json")
    payload = json.loads(receipt.read_text("utf-8"))
    assert payload["file"].endswith(name) and payload["rows_read"] == 2
    assert (folder / payload["return_file"]).is_file()
    for p in folder.iterdir():  # lost after the load: the next run's "files read before" rebuilds them
        p.unlink()
    [again] = ingest_all(home, date(2025, 3, 6))
    assert again.status == "known"
    assert sorted(p.name for p in folder.iterdir()) == made


# ---------------------------------------------------------------- cells over 32,767 characters


def column_letter(index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def test_a_cell_over_excels_limit_is_cut_and_the_row_says_so(home):
    remark = "家庭情况说明" * 7_000  # 42,000 characters
    drop(home, TOWN, "长备注.csv", [row(remark=remark), row(name="李四", id_no="11010519491231002X", relation="表亲")],
         at(5))
    ingest_all(home, date(2025, 3, 5))
    [workbook] = (home.out / "returns" / TOWN).glob("长备注.*.问题.xlsx")
    sheet = CalamineWorkbook.from_path(str(workbook)).get_sheet_by_index(0).to_python()
    header, first = sheet[0], sheet[1]
    assert first[header.index("备注")] == remark[:EXCEL_CELL_MAX]
    letter = column_letter(header.index("备注"))
    assert f"第{letter}列（备注）内容有42000个字符，超过Excel单元格上限32767个字符，本表中已截断" in first[header.index("问题")]
    assert query(home, "SELECT length(remark) FROM raw.submission_rows WHERE source_row = 2") == [(42_000,)]


@pytest.mark.parametrize("rows", [1, 2_001])  # xlsxwriter below 2,000 rows, the Rust writer above
def test_return_workbook_with_over_long_cells_is_written_by_either_writer(tmp_path, rows):
    short = ["短"] * (rows - 1)
    raw = pl.DataFrame({
        "source_row": list(range(2, rows + 2)), "row_status": ["rejected"] * rows, "case_key": ["c"] * rows,
        "remark": ["长" * 40_000] + short,
        "name": short + ["𠀀" * 20_000],  # a character outside the BMP is 2 UTF-16 units in Excel
    })
    findings = pl.DataFrame({"case_key": ["c"], "source_row": [2], "rule_id": ["V03"], "message": ["姓名有误"]})
    sheet = return_rows(raw, findings, {"remark": "备注", "name": "姓名"})
    path = write_workbook(tmp_path / "r.xlsx", {"问题清单": sheet})
    back = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert len(back) == rows + 1
    assert len(back[1][3]) == EXCEL_CELL_MAX
    assert len(back[-1][4].encode("utf-16-le")) // 2 <= EXCEL_CELL_MAX
    assert back[1][2].startswith("V03：姓名有误；第D列（备注）内容有40000个字符")
    assert "第E列（姓名）" in back[-1][2]


NORMAL_SHEET = b"".join(
    f'<row r="{r}" spans="1:3"><c r="A{r}" t="s"><v>1</v></c><c r="C{r}" s="1"/><c r="B{r}"><v>2</v></c></row>'.encode()
    for r in range(1, 40)
)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), sample=st.sampled_from([NORMAL_SHEET, *FAR_AWAY_CELLS.values()]))
def test_sheet_scans_do_not_depend_on_where_the_inflated_chunks_end(data, sample):
    """The scans see a member 1 MiB at a time; an attacker chooses where a tag falls."""
    from intake.readers import _grid_extent, _GridScan

    cuts = sorted(data.draw(st.sets(st.integers(1, len(sample) - 1), max_size=12)))
    chunks = [sample[a:b] for a, b in zip([0, *cuts], [*cuts, len(sample)], strict=True)]

    def scan(parts):
        s = _GridScan(64_000_000)
        for part in parts:
            s.feed(part)
        s.finish()
        return "walk the tags" if s.odd else "read the references" if s.far else "fits"

    assert scan(chunks) == scan([sample])
    assert _grid_extent(chunks) == _grid_extent([sample])
    if sample is NORMAL_SHEET:
        assert scan(chunks) == "fits" and _grid_extent(chunks) == (39, 2)
