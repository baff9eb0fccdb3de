"""Turn one town submission file into raw string rows (SPEC §2, P01/P02).

`read_submission(path, header_map, required)` never raises: a file that cannot
be read gives `rows=None` and one P01; a file without a required column gives
`rows=None` and one P02 naming the missing headers in Chinese. Otherwise
`rows` has one pl.String column per recognised header (canonical field name),
plus lineage: `source_sheet`, `source_row` (the row number a clerk sees in
Excel, the record number in a CSV, the running member number in JSON),
`source_ref` (the same, readable: 第5行 / 第2个案件第3名成员) and `extra_json`
(unknown columns of the row as a JSON object, kept for the raw layer).

Cells are read as text, never evaluated: a cell typed as `=1+2` stays the
string "=1+2" (the cached value of a real formula is what we read).

Hostile files are refused with a P01 before they can take the machine down
(`FileLimits`, from the settings max_file_bytes, max_rows_per_file,
max_xlsx_member_bytes and max_xlsx_compression_ratio): the size is checked
with stat before anything is read; an xlsx's zip directory is checked before
anything is extracted, then each XML member is inflated in 1 MiB steps to
prove its real size and that its sheets' used range is not a sparse-cell bomb;
a CSV's rows are counted in a stream before it is loaded; a JSON's cases and
members are counted before rows are built. Memory stays bounded throughout.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

import polars as pl

from core.reference import Reference, load_reference
from transforms.returns import column_letter as _column_letter
from transforms.text import fold_fullwidth

HEADER_SCAN_ROWS = 20  # the header must be among the first 20 rows
MIN_RECOGNISED = 3  # ... and contain at least 3 recognised headers
PREFERRED_SHEET = "台账"
MEMBER_LIST_KEYS = ("members", "member", "成员", "家庭成员", "成员信息")
EXCEL_SUFFIXES = (".xlsx", ".xls", ".xlsm")
CSV_SEPARATORS = (",", "\t", ";")


@dataclass(frozen=True)
class Problem:
    """A file-level parsing problem: P01 (cannot read) or P02 (required column missing)."""

    rule_id: Literal["P01", "P02"]
    message_zh: str
    detail: str = ""


@dataclass
class ReadResult:
    rows: pl.DataFrame | None
    problems: list[Problem] = field(default_factory=list)
    sheet: str | None = None
    header_row: int | None = None  # 1-based, as the clerk sees it
    encoding: str | None = None  # CSV / JSON: utf-8, utf-8-sig or gb18030
    file_format: str | None = None  # xlsx, xls, csv, json
    empty_rows_skipped: int = 0  # fully empty rows below the header, dropped

    @property
    def ok(self) -> bool:
        return self.rows is not None


class _Reject(Exception):  # noqa: N818 - internal control flow, never escapes
    def __init__(self, problem: Problem):
        super().__init__(problem.message_zh)
        self.problem = problem


def _p01(message_zh: str, detail: str = "") -> _Reject:
    return _Reject(Problem("P01", message_zh, detail[:300]))


# ---------------------------------------------------------------- limits

MIB = 1 << 20
GIB = 1 << 30
STREAM_CHUNK = MIB  # files are hashed, counted and inflated in steps of this many bytes
CSV_HEAD_BYTES = MIB  # the header of a CSV is looked for in its first MiB
CELLS_PER_ROW = 64  # a grid may span max_rows x 64 cells (SPEC §2 has 37 columns)
RATIO_GRACE_BYTES = MIB  # a zip member that expands to less than this is never a bomb
MAX_ZIP_DIRECTORY_BYTES = 16 * MIB  # a workbook's zip directory is a few KB
FAST_SCAN_MAX_ROW = 999_999  # sheets whose cell references have at most 6 digits take the fast scan


@dataclass(frozen=True)
class FileLimits:
    """What one submission may be (settings max_file_bytes, max_rows_per_file,
    max_xlsx_member_bytes, max_xlsx_compression_ratio)."""

    max_file_bytes: int
    max_rows: int
    max_member_bytes: int
    max_compression_ratio: int

    @property
    def max_cells(self) -> int:
        """Rows x columns a sheet's used range or a CSV's grid may span: what a reader allocates."""
        return self.max_rows * CELLS_PER_ROW

    @classmethod
    def from_reference(cls, ref: Reference) -> FileLimits:
        """The limits in `ref`'s settings; a key its settings.csv lacks falls back to the shipped value."""
        shipped = load_reference()

        def value(key: str) -> int:
            return ref.setting_int(key, int(shipped.setting(key)))

        return cls(
            max_file_bytes=value("max_file_bytes"),
            max_rows=value("max_rows_per_file"),
            max_member_bytes=value("max_xlsx_member_bytes"),
            max_compression_ratio=value("max_xlsx_compression_ratio"),
        )


def default_limits() -> FileLimits:
    """The shipped settings' limits (for callers that pass no home reference)."""
    return FileLimits.from_reference(load_reference())


def _size_zh(n: int) -> str:
    if n >= GIB and n % GIB == 0:
        return f"{n // GIB:,} GB"
    if n >= MIB:
        return f"{n // MIB:,} MB" if n % MIB == 0 else f"{n / MIB:,.1f} MB"
    return f"{n / 1024:,.1f} KB"


def _check_file_size(path: Path, limits: FileLimits) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _p01("文件无法打开：读取文件失败", f"{type(exc).__name__}: {exc.strerror}") from exc
    if size > limits.max_file_bytes:
        raise _p01(
            f"文件过大：文件大小为{_size_zh(size)}（{size:,}字节），超过每个文件{_size_zh(limits.max_file_bytes)}"
            f"（{limits.max_file_bytes:,}字节）的上限，"
            "整个文件未读取。请拆分为多个文件后重新报送",
            f"size {size} > max_file_bytes {limits.max_file_bytes}",
        )
    return size


def _too_many_rows(rows: int, limits: FileLimits, *, at_least: bool = False) -> _Reject:
    count = f"至少{rows:,}行" if at_least else f"{rows:,}行数据"
    return _p01(
        f"文件行数过多：文件中有{count}，超过每个文件{limits.max_rows:,}行的上限，整个文件未处理。"
        "请拆分为多个文件后重新报送",
        f"rows {'>= ' if at_least else ''}{rows} > max_rows_per_file {limits.max_rows}",
    )


def _too_many_cells(rows: int, columns: int, limits: FileLimits, where: str = "") -> _Reject:
    return _p01(
        f"文件过大：{where}数据区域为{rows:,}行×{columns:,}列，超过上限{limits.max_cells:,}个单元格"
        f"（每个文件{limits.max_rows:,}行×{CELLS_PER_ROW}列），整个文件未读取。请删除多余的行和列后重新报送",
        f"grid {rows} x {columns} > {limits.max_cells} cells",
    )


# ---------------------------------------------------------------- xlsx: the zip before extraction


def _ratio_exceeded(expanded: int, stored: int, limits: FileLimits) -> bool:
    return expanded > RATIO_GRACE_BYTES and expanded > limits.max_compression_ratio * max(stored, 1)


def _damaged(info: zipfile.ZipInfo, detail: str) -> _Reject:
    return _p01(f"文件无法读取：Excel文件已损坏（部件“{info.filename}”与文件目录不符）", detail)


def check_xlsx(path: Path, size: int, limits: FileLimits) -> None:
    """Refuse (P01) a zip-based workbook that would expand beyond the limits, in bounded memory.

    First the zip directory alone: each member's declared size and compression ratio, and the
    whole file's ratio. Then every member is inflated in 1 MiB steps and thrown away: its real
    size must be the declared one (a lying directory is refused), and the cells of its sheets
    must not span more than `limits.max_cells` (a few bytes placing one cell at XFD1048576
    would make the Excel reader allocate 17 billion cells and abort the process)."""
    with path.open("rb") as fh:
        try:
            end = zipfile._EndRecData(fh)  # noqa: SLF001 - the end record only, before the directory is read
        except OSError:
            end = None
        if end and end[zipfile._ECD_SIZE] > MAX_ZIP_DIRECTORY_BYTES:  # noqa: SLF001
            raise _p01(
                f"文件无法读取：Excel文件的目录有{_size_zh(end[zipfile._ECD_SIZE])}，不是正常的Excel文件，未解压",  # noqa: SLF001
                f"zip directory of {end[zipfile._ECD_SIZE]} bytes",  # noqa: SLF001
            )
        try:
            infos = zipfile.ZipFile(fh).infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise _p01("文件无法打开：不是有效的Excel文件", f"{type(exc).__name__}: {exc}") from exc
        if "xl/workbook.xml" not in {i.filename.lower() for i in infos}:
            raise _p01("文件无法打开：不是有效的Excel文件（xlsx）", "zip without xl/workbook.xml")
        for info in infos:
            if info.file_size > limits.max_member_bytes:
                raise _p01(
                    f"文件无法读取：Excel文件中的部件“{info.filename}”解压后为{_size_zh(info.file_size)}，"
                    f"超过上限{_size_zh(limits.max_member_bytes)}，未解压",
                    f"member {info.filename} {info.file_size} > max_xlsx_member_bytes {limits.max_member_bytes}",
                )
            if _ratio_exceeded(info.file_size, info.compress_size, limits):
                raise _p01(
                    f"文件无法读取：Excel文件中的部件“{info.filename}”压缩比为"
                    f"{info.file_size // max(info.compress_size, 1):,}倍，超过上限{limits.max_compression_ratio}倍"
                    "（疑似压缩炸弹），未解压",
                    f"member {info.filename} {info.file_size}/{info.compress_size} bytes "
                    f"> max_xlsx_compression_ratio {limits.max_compression_ratio}",
                )
        expanded = sum(i.file_size for i in infos)
        if _ratio_exceeded(expanded, size, limits):
            raise _p01(
                f"文件无法读取：Excel文件解压后共{_size_zh(expanded)}，压缩比为{expanded // max(size, 1):,}倍，"
                f"超过上限{limits.max_compression_ratio}倍（疑似压缩炸弹），未解压",
                f"archive {expanded}/{size} bytes > max_xlsx_compression_ratio {limits.max_compression_ratio}",
            )
        for info in infos:
            scan = _GridScan(limits.max_cells)
            for chunk in _member_chunks(fh, info):
                scan.feed(chunk)
            scan.finish()
            if scan.suspicious:
                extent = _grid_extent if scan.odd else _refs_extent
                rows, columns = extent(_member_chunks(fh, info))
                if rows * columns > limits.max_cells:
                    sheet = _sheet_names(fh).get(info.filename)
                    raise _too_many_cells(
                        rows, columns, limits, where=f"工作表“{sheet}”的" if sheet else "工作表的"
                    )


def _sheet_names(fh: io.BufferedReader) -> dict[str, str]:
    """Member path -> the sheet's name as the clerk sees it, from xl/workbook.xml and its
    relationships (only called once both are known to be small); {} when they cannot be read."""
    import xml.etree.ElementTree as ET

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    try:
        parts = {i.filename.lower(): i for i in zipfile.ZipFile(fh).infolist()}
        workbook, rels = parts.get("xl/workbook.xml"), parts.get("xl/_rels/workbook.xml.rels")
        if not workbook or not rels or max(workbook.file_size, rels.file_size) > MIB:
            return {}
        targets = {
            e.get("Id"): e.get("Target", "")
            for e in ET.fromstring(b"".join(_member_chunks(fh, rels))).iter()
            if local(e.tag) == "Relationship"
        }
        names = {}
        for e in ET.fromstring(b"".join(_member_chunks(fh, workbook))).iter():
            if local(e.tag) == "sheet":
                rid = next((v for k, v in e.attrib.items() if local(k) == "id"), None)
                target = targets.get(rid, "")
                names[target.lstrip("/") if target.startswith("/") else f"xl/{target}"] = e.get("name", "")
        return names
    except Exception:  # noqa: BLE001 - only a nicer message depends on it
        return {}


def _member_chunks(fh: io.BufferedReader, info: zipfile.ZipInfo):
    """A member's bytes, inflated at most STREAM_CHUNK at a time; P01 if the stream expands
    beyond the size its directory entry declares, or to less."""
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise _damaged(info, "bad local header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    elif info.compress_type == zipfile.ZIP_STORED:
        inflater = None
    else:
        raise _p01(
            "文件无法读取：Excel文件使用了不支持的压缩方式", f"{info.filename}: method {info.compress_type}"
        )
    left, produced = info.compress_size, 0
    while left > 0 and not (inflater is not None and inflater.eof):
        pending = fh.read(min(STREAM_CHUNK, left))
        if not pending:
            raise _damaged(info, "truncated")
        left -= len(pending)
        while pending:
            if inflater is None:
                out, pending = pending, b""
            else:
                try:
                    out = inflater.decompress(pending, STREAM_CHUNK)
                except zlib.error as exc:
                    raise _damaged(info, str(exc)) from exc
                pending = b"" if inflater.eof else inflater.unconsumed_tail
            produced += len(out)
            if produced > info.file_size:
                raise _damaged(info, f"expands beyond its declared {info.file_size} bytes")
            if out:
                yield out
    if inflater is not None and not inflater.eof:
        raise _damaged(info, "deflate stream does not end")
    if produced != info.file_size:
        raise _damaged(info, f"expands to {produced}, declared {info.file_size} bytes")


def _columns_above(n: int) -> bytes:
    """A regex matching the letters of any column after the n-th (1-based), up to XFD."""
    if n >= 16_384:
        return rb"(?!)"
    name = _column_letter(n - 1)
    alternatives = [f"[A-Z]{{{len(name) + 1},3}}"] if len(name) < 3 else []
    for i, letter in enumerate(name):
        if letter != "Z":
            alternatives.append(f"{name[:i]}[{chr(ord(letter) + 1)}-Z][A-Z]{{{len(name) - i - 1}}}")
    return "|".join(alternatives).encode()


_UNUSUAL_CELL_TAG = re.compile(rb'<(?:c|row)(?! r=")[\s/>]')  # a cell or row without a leading r="…"
_PREFIXED_CELL_TAG = re.compile(rb":(?:c|row)[\s/>]")  # <x:c …>, <x:row …>
_UTF16 = re.compile(rb"\A(?:\xff\xfe|\xfe\xff|<\x00|\x00<)")


class _GridScan:
    """Proof, in one fast pass, that the cells of a member span at most `max_cells`: every cell
    and row tag starts with r="…", and every reference is plain (letters, then at most six
    digits) and within the first max_cells // 999,999 columns.

    Otherwise: `far` when some plain reference lies beyond (then `_refs_extent` reads them
    all), `odd` when a tag is placed by counting or written unusually (then `_grid_extent`
    walks the tags one by one, as the Excel reader does)."""

    OVERLAP = 32  # longer than any pattern below: a match cut by a chunk's end is looked at again

    def __init__(self, max_cells: int):
        columns = max_cells // FAST_SCAN_MAX_ROW
        self.far = columns < 1
        self.odd = False
        self._far_or_odd = re.compile(
            rb' r="(?:(?![A-Z]{0,3}[0-9]{1,6}")|' + _columns_above(max(columns, 1)) + rb")"
        )
        self._carry = b""
        self._first = True

    @property
    def suspicious(self) -> bool:
        return self.far or self.odd

    def feed(self, chunk: bytes, *, last: bool = False) -> None:
        if self._first and _UTF16.match(chunk):  # Excel writes UTF-8; the scan reads bytes as such
            raise _p01("文件无法读取：Excel文件内容的编码不受支持", "UTF-16 member")
        self._first = False
        if self.odd:
            return
        buf = self._carry + chunk
        settled = len(buf) if last else len(buf) - self.OVERLAP  # matches from here may be cut short

        def hit(pattern: re.Pattern) -> bool:
            found = pattern.search(buf)
            return found is not None and found.start() < settled

        if not self.far and hit(self._far_or_odd):
            self.far = True  # or odd: the next line tells
        if hit(_UNUSUAL_CELL_TAG) or hit(_PREFIXED_CELL_TAG) or (self.far and hit(_ODD_REF)):
            self.odd = True
        self._carry = buf[max(settled, 0) :]

    def finish(self) -> None:
        self.feed(b"", last=True)


_ODD_REF = re.compile(rb' r="(?![A-Z]{0,3}[0-9]{1,9}")')
_PLAIN_REFS = re.compile(rb' r="([A-Z]{0,3})([0-9]{1,9})"')


def _refs_extent(chunks) -> tuple[int, int]:
    """(last row, last column) named by any plain r="…" reference (cells with or without
    content, and rows): an upper bound of the grid when no tag is placed by counting."""
    rows: set[bytes] = set()
    columns: set[bytes] = set()
    carry = b""
    for chunk in chunks:
        buf = carry + chunk
        for letters, digits in _PLAIN_REFS.findall(buf):  # a reference cut at the end does not match
            rows.add(digits)
            columns.add(letters)
        carry = buf[-_GridScan.OVERLAP :]
    return max((int(r) for r in rows), default=0), max((_column_number(c) for c in columns), default=0)


_TAG = re.compile(rb"""<(?:[\w.-]+:)?(c|row)(?=[\s/>])((?:[^>"']+|"[^"]*"|'[^']*')*)>""")
_TAG_START = re.compile(rb"<(?:[\w.-]+:)?(?:c|row)(?=[\s/>])")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_PLAIN_REF = re.compile(rb"([A-Z]{0,3})([0-9]{1,9})")
_CELL_REF = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]+)")


def _column_number(letters: str | bytes) -> int:
    n = 0
    for ch in letters.encode() if isinstance(letters, str) else letters:
        n = n * 26 + ch - 64
    return n


def _reference(attrs: bytes) -> tuple[int | None, int | None, bool]:
    """(row, column, has r) of a tag's r="…" attribute; column None for a row reference."""
    if attrs.startswith(b' r="'):  # how every writer puts it
        raw = attrs[4 : attrs.find(b'"', 4)]
    else:
        found = _R_ATTR.search(attrs)
        if not found:
            return None, None, False
        raw = found.group(1) if found.group(1) is not None else found.group(2)
    plain = _PLAIN_REF.fullmatch(raw)
    if plain:
        return int(plain[2]), (_column_number(plain[1]) if plain[1] else None), True
    import html

    text = html.unescape(raw.decode("utf-8", "replace")).strip().upper()
    if text.isdigit():
        return int(text), None, True
    cell = _CELL_REF.fullmatch(text)
    return (int(cell[2]), _column_number(cell[1]), True) if cell else (None, None, True)


def _grid_extent(chunks) -> tuple[int, int]:
    """(last row, last column) of the cells with content, placed as the Excel reader places
    them: a cell's r="…" wins; a cell without one follows the previous cell of its row; a row
    without r="…" follows the previous row. An upper bound of the grid it will allocate."""
    row = col = max_row = max_col = 0
    carry = b""
    for chunk in chunks:
        buf = carry + chunk
        done = 0
        for tag in _TAG.finditer(buf):
            done = tag.end()
            attrs = tag.group(2)
            ref_row, ref_col, _ = _reference(attrs) if b"r" in attrs else (None, None, False)
            if tag.group(1) == b"row":
                row, col = (ref_row if ref_row is not None else row + 1), 0
                continue
            if ref_col is not None:
                col, cell_row = ref_col, ref_row
            else:
                col, cell_row = col + 1, row
            if not attrs.endswith(b"/"):  # <c …/> holds no value
                max_row, max_col = max(max_row, cell_row), max(max_col, col)
        # a tag the chunk's end cut short is read again with the next chunk
        unfinished = _TAG_START.search(buf, done)
        carry = buf[unfinished.start() :] if unfinished else buf[max(done, len(buf) - _GridScan.OVERLAP) :]
        if len(carry) > STREAM_CHUNK:
            raise _p01("文件无法读取：Excel文件内容格式异常", "a cell or row tag longer than 1 MiB")
    return max_row, max_col


# ---------------------------------------------------------------- headers

_SPACES = re.compile(r"[\s\u200b\ufeff]+")
_REQUIRED_MARK = re.compile(r"\(必填\)")


def header_key(text: object) -> str:
    """The matching key of a header cell: full-width folded, BOM, spaces and
    newlines removed, '*' required marks and '(必填)' dropped, lower-cased."""
    if text is None:
        return ""
    key = _SPACES.sub("", fold_fullwidth(str(text)) or "")
    key = _REQUIRED_MARK.sub("", key).strip("*")
    return key.lower()


def _keys(header_map: dict[str, str]) -> dict[str, str]:
    return {header_key(h): f for h, f in header_map.items() if header_key(h)}


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def field_labels(header_map: dict[str, str]) -> dict[str, str]:
    """Canonical field -> its Chinese header (the first Chinese header listed)."""
    labels: dict[str, str] = {}
    for header, fld in header_map.items():
        if fld not in labels and _has_cjk(header):
            labels[fld] = header
    for fld in header_map.values():
        labels.setdefault(fld, fld)
    return labels


def _missing_problem(missing: list[str], header_map: dict[str, str], prefix: str = "") -> _Reject:
    labels = field_labels(header_map)
    names = "、".join(labels.get(f, f) for f in missing)
    return _Reject(Problem("P02", f"{prefix}缺少必填列：{names}", "missing required: " + ",".join(missing)))


def _find_header(rows: list[list[object]], keys: dict[str, str]) -> tuple[int | None, int]:
    """Index of the first of the first rows with >= MIN_RECOGNISED recognised headers."""
    best = 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        count = len({keys[k] for k in (header_key(c) for c in row) if k in keys})
        if count >= MIN_RECOGNISED:
            return i, count
        best = max(best, count)
    return None, best


@dataclass
class _Layout:
    fields: dict[int, str]  # column position -> canonical field
    extras: dict[int, str]  # column position -> name kept in extra_json


def _layout(header_cells: list[object], keys: dict[str, str], unnamed: list[str]) -> _Layout:
    fields: dict[int, str] = {}
    extras: dict[int, str] = {}
    seen_fields: set[str] = set()
    seen_extra: set[str] = set()
    for i, cell in enumerate(header_cells):
        key = header_key(cell)
        fld = keys.get(key)
        if fld is not None and fld not in seen_fields:
            fields[i] = fld
            seen_fields.add(fld)
            continue
        # unknown (or a second column for a field already taken): kept in raw
        name = _SPACES.sub("", str(cell)) if key else unnamed[i]
        base, n = name, 2
        while name in seen_extra:
            name, n = f"{base}({n})", n + 1
        seen_extra.add(name)
        extras[i] = name
    return _Layout(fields, extras)


# ---------------------------------------------------------------- assembly


def _assemble(
    grid: pl.DataFrame,
    header_cells: list[object],
    unnamed: list[str],
    first_row_no: int,
    sheet: str | None,
    header_map: dict[str, str],
    required: list[str],
    ref_template: str = "第{}行",
) -> tuple[pl.DataFrame, int]:
    """Data rows of positional String columns -> canonical rows with lineage."""
    keys = _keys(header_map)
    layout = _layout(header_cells, keys, unnamed)
    missing = [f for f in required if f not in layout.fields.values()]
    if missing:
        raise _missing_problem(missing, header_map)
    cols = grid.columns
    n_before = grid.height
    row_no = (pl.int_range(pl.len(), dtype=pl.Int64) + first_row_no).alias("source_row")
    grid = grid.with_columns(row_no)
    if cols:
        filled = pl.any_horizontal([(pl.col(c).str.strip_chars() != "").fill_null(False) for c in cols])
        grid = grid.filter(filled)
    else:
        grid = grid.clear()
    # a column with no header and no data at all is dropped
    extras = {
        i: name
        for i, name in layout.extras.items()
        if header_key(header_cells[i]) or grid[cols[i]].drop_nulls().str.strip_chars().ne("").any()
    }
    select = [pl.col(cols[i]).alias(fld) for i, fld in layout.fields.items()]
    select += [
        pl.lit(sheet, dtype=pl.String).alias("source_sheet"),
        pl.col("source_row"),
        pl.format(ref_template, pl.col("source_row")).alias("source_ref"),
    ]
    if extras:
        select.append(
            pl.struct([pl.col(cols[i]).alias(name) for i, name in extras.items()])
            .struct.json_encode()
            .alias("extra_json")
        )
    else:
        select.append(pl.lit(None, dtype=pl.String).alias("extra_json"))
    return grid.select(select), n_before - grid.height


# ---------------------------------------------------------------- Excel


def _read_excel(data: bytes, header_map: dict[str, str], required: list[str], result: ReadResult) -> None:
    import fastexcel

    try:
        reader = fastexcel.read_excel(data)  # bytes: the format is sniffed, not taken from the name
        names = list(reader.sheet_names)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a P01
        raise _p01("文件无法打开：不是有效的Excel文件", str(exc)) from exc
    if not names:
        raise _p01("文件无法打开：Excel文件中没有工作表")
    sheet = next((n for n in names if n.strip() == PREFERRED_SHEET), names[0])
    result.sheet = sheet
    try:
        # header_row=None + skip_rows=0: every row from the sheet's row 1, all as text
        loaded = reader.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string")
        grid = loaded.to_polars()
        absolute = [c.absolute_index for c in loaded.selected_columns]
    except Exception as exc:  # noqa: BLE001
        raise _p01(f"文件无法读取：工作表“{sheet}”读取失败", str(exc)) from exc
    if grid.width == 0 or grid.height == 0:
        raise _p01(f"文件没有内容：工作表“{sheet}”是空的")
    cols = [f"c{i}" for i in range(grid.width)]
    grid = grid.rename(dict(zip(grid.columns, cols, strict=True)))
    # date cells come as 'YYYY-MM-DD 00:00:00': keep the date only
    grid = grid.with_columns(
        pl.col(cols).cast(pl.String).str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "${1}")
    )
    header_idx, best = _find_header(grid.head(HEADER_SCAN_ROWS).rows(), _keys(header_map))
    if header_idx is None:
        raise _missing_problem(required, header_map, prefix=_no_header_prefix(best))
    result.header_row = header_idx + 1
    header_cells = list(grid.row(header_idx))
    unnamed = [f"列{_column_letter(a)}" for a in absolute]
    rows, skipped = _assemble(
        grid.slice(header_idx + 1), header_cells, unnamed, header_idx + 2, sheet, header_map, required
    )
    result.rows, result.empty_rows_skipped = rows, skipped


def _no_header_prefix(best: int) -> str:
    return f"未找到表头行（前{HEADER_SCAN_ROWS}行中没有一行含至少{MIN_RECOGNISED}个可识别的列名），"


# ---------------------------------------------------------------- CSV


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise _p01("文件无法读取：文字编码无法识别（应为UTF-8或GBK）", str(exc)) from exc


def _decode_head(head: bytes) -> str:
    """The first bytes of a file as text, for finding its header (a character cut at the end is dropped)."""
    head = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    for encoding in ("utf-8", "gb18030"):
        try:
            return codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
    return head.decode("gb18030", errors="replace")


def _first_records(text: str, sep: str) -> list[list[str]]:
    out: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text[:1_000_000]), delimiter=sep):
            out.append(record)
            if len(out) >= HEADER_SCAN_ROWS:
                break
    except csv.Error:
        pass
    return out


def _choose_layout(text: str, keys: dict[str, str]) -> tuple[tuple[int, str, list[list[str]]] | None, int]:
    """((header index, separator, first records) of the separator that recognises the most
    headers, or None; the most headers any separator recognised)."""
    best_choice: tuple[int, int, str, list[list[str]]] | None = None  # (count, idx, sep, records)
    best_count = 0
    for sep in CSV_SEPARATORS:
        records = _first_records(text, sep)
        idx, count = _find_header(records, keys)
        best_count = max(best_count, count)
        if idx is not None and (best_choice is None or count > best_choice[0]):
            best_choice = (count, idx, sep, records)
    return (best_choice[1:] if best_choice else None), best_count


def check_csv(path: Path, header_map: dict[str, str], limits: FileLimits) -> None:
    """Refuse (P01) a CSV with more data rows, or a wider grid, than the limits, before it is
    loaded: lines are counted in 1 MiB steps and, only when there are more lines than the
    limit allows, records are counted in a stream (a quoted cell may hold line breaks; empty
    records do not count)."""
    newlines = returns = 0
    head, last = b"", b"\n"
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(STREAM_CHUNK), b""):
            if len(head) < CSV_HEAD_BYTES:
                head += chunk[: CSV_HEAD_BYTES - len(head)]
            newlines += chunk.count(b"\n")
            returns += chunk.count(b"\r")
            last = chunk[-1:]
    lines = max(newlines, returns) + (last not in (b"\n", b"\r"))
    layout, _ = _choose_layout(_decode_head(head), _keys(header_map))
    header_idx, sep, records = layout if layout else (0, ",", [[]])
    width = len(records[header_idx])
    if width * lines > limits.max_cells:
        raise _too_many_cells(lines, width, limits)
    if lines - 1 <= limits.max_rows:
        return
    allowed = limits.max_rows + header_idx + 1
    counted = _count_filled_records(path, sep, stop_after=allowed)
    if counted > allowed:
        raise _too_many_rows(counted - header_idx - 1, limits, at_least=True)


def _count_filled_records(path: Path, sep: str, stop_after: int) -> int:
    """CSV records with some content, counted in a stream up to stop_after + 1. The bytes are
    read as Latin-1: separators, quotes and line breaks never occur inside a UTF-8 or GB18030
    character, so the records are the same."""
    count = 0
    try:
        with path.open("r", encoding="latin-1", newline="") as fh:
            for record in csv.reader(fh, delimiter=sep):
                if any(cell.strip() for cell in record):
                    count += 1
                    if count > stop_after:
                        break
    except csv.Error:  # a cell over the csv module's size limit: count lines instead
        with path.open("rb") as fh:
            count = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(STREAM_CHUNK), b""))
    return count


def _read_csv(
    data: bytes, header_map: dict[str, str], required: list[str], result: ReadResult, limits: FileLimits
) -> None:
    text, encoding = _decode(data)
    result.encoding = encoding
    if "\x00" in text:
        raise _p01("文件无法读取：不是文本格式的CSV文件", "NUL byte in text")
    if not text.strip():
        raise _p01("文件没有内容")
    layout, best_count = _choose_layout(text, _keys(header_map))
    if layout is None:
        raise _missing_problem(required, header_map, prefix=_no_header_prefix(best_count))
    header_idx, sep, records = layout
    result.header_row = header_idx + 1
    header_cells: list[object] = list(records[header_idx])
    width = len(header_cells)
    payload = (
        text.encode("utf-8") if encoding == "gb18030" else (data[3:] if encoding == "utf-8-sig" else data)
    )
    options = dict(has_header=False, skip_rows=header_idx + 1, separator=sep, raise_if_empty=False)
    try:
        grid = pl.read_csv(payload, schema={f"c{i}": pl.String for i in range(width)}, **options)
    except Exception:  # noqa: BLE001 - a record wider than the header, or odd quoting
        width = max(width, _widest_record(text, sep, header_idx, limits))
        header_cells += [None] * (width - len(header_cells))
        try:
            grid = pl.read_csv(
                payload,
                schema={f"c{i}": pl.String for i in range(width)},
                missing_columns="insert",
                **options,
            )
        except Exception:  # noqa: BLE001 - odd quoting: the slow, forgiving path
            grid = _python_csv(text, sep, header_idx, width)
    unnamed = [f"列{i + 1}" for i in range(len(header_cells))]
    rows, skipped = _assemble(grid, header_cells, unnamed, header_idx + 2, None, header_map, required)
    result.rows, result.empty_rows_skipped = rows, skipped


def _data_records(text: str, sep: str, header_idx: int):
    return itertools.islice(csv.reader(io.StringIO(text), delimiter=sep), header_idx + 1, None)


def _widest_record(text: str, sep: str, header_idx: int, limits: FileLimits) -> int:
    """The most fields in a data record, read in a stream; P01 when the grid it makes (records
    x that width, the short ones padded) would exceed the cell limit."""
    width = records = 0
    try:
        for record in _data_records(text, sep, header_idx):
            width, records = max(width, len(record)), records + 1
    except csv.Error as exc:
        raise _p01("文件无法读取：CSV格式错误", str(exc)) from exc
    if width * records > limits.max_cells:
        raise _too_many_cells(records, width, limits)
    return width


PYTHON_CSV_BATCH = 50_000  # records turned into one frame at a time on the slow path


def _python_csv(text: str, sep: str, header_idx: int, width: int) -> pl.DataFrame:
    schema = {f"c{i}": pl.String for i in range(width)}
    frames: list[pl.DataFrame] = []
    records = _data_records(text, sep, header_idx)
    try:
        while batch := list(itertools.islice(records, PYTHON_CSV_BATCH)):
            columns = {
                f"c{i}": [(r[i] if i < len(r) and r[i] != "" else None) for r in batch] for i in range(width)
            }
            frames.append(pl.DataFrame(columns, schema=schema))
    except csv.Error as exc:
        raise _p01("文件无法读取：CSV格式错误", str(exc)) from exc
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


# ---------------------------------------------------------------- JSON


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _count_json_rows(text: str, stop_after: int) -> int:
    """Rows (members, or 1 for a case without) of a JSON list of cases, up to stop_after + 1,
    decoding one case at a time; 0 when the text is not such a list (json.loads says why)."""
    decoder, member_keys = json.JSONDecoder(), {header_key(k) for k in MEMBER_LIST_KEYS}
    is_member_key: dict[str, bool] = {}
    i = _JSON_SPACE.match(text).end()
    if not text.startswith("[", i):
        return 0
    i, rows = i + 1, 0
    try:
        while not text.startswith("]", i := _JSON_SPACE.match(text, i).end()):
            case, i = decoder.raw_decode(text, i)
            members = None
            for k, v in case.items() if isinstance(case, dict) else ():
                if k not in is_member_key:
                    is_member_key[k] = header_key(k) in member_keys
                if is_member_key[k] and isinstance(v, list):
                    members = v
                    break
            rows += len(members) if members else 1
            if rows > stop_after:
                return rows
            i = _JSON_SPACE.match(text, i).end()
            i += text.startswith(",", i)
    except (json.JSONDecodeError, RecursionError, IndexError):
        return 0
    return rows


def _read_json(
    data: bytes, header_map: dict[str, str], required: list[str], result: ReadResult, limits: FileLimits
) -> None:
    text, encoding = _decode(data)
    result.encoding = encoding
    if not text.strip():
        raise _p01("文件没有内容")
    if text.count("{") > limits.max_rows:  # perhaps over the limit: count before building the whole tree
        rows = _count_json_rows(text, stop_after=limits.max_rows)
        if rows > limits.max_rows:
            raise _too_many_rows(rows, limits, at_least=True)
    try:
        cases = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _p01("文件无法读取：不是有效的JSON文件", str(exc)) from exc
    if not isinstance(cases, list):
        raise _p01("文件无法读取：JSON文件应为案件列表（[...]）", f"top level is {type(cases).__name__}")
    if len(cases) > limits.max_rows:  # every case is at least one row
        raise _too_many_rows(len(cases), limits, at_least=True)
    keys = _keys(header_map)
    member_keys = {header_key(k) for k in MEMBER_LIST_KEYS}
    records: list[dict[str, str | None]] = []
    extras: list[str | None] = []
    refs: list[str] = []
    seen: set[str] = set()
    for i, case in enumerate(cases, start=1):
        if not isinstance(case, dict):
            raise _p01(f"文件无法读取：第{i}个案件不是对象（{{...}}）", f"case {i} is {type(case).__name__}")
        household: dict[str, str | None] = {}
        case_extra: dict[str, object] = {}
        members: object = None
        for k, v in case.items():
            hk = header_key(k)
            if hk in member_keys and isinstance(v, list):
                members = v
            elif hk in keys and keys[hk] not in household:
                household[keys[hk]] = _json_text(v)
            else:
                case_extra[str(k)] = v
        member_list = members if isinstance(members, list) and members else [None]
        if len(records) + len(member_list) > limits.max_rows:
            raise _too_many_rows(len(records) + len(member_list), limits, at_least=True)
        for j, member in enumerate(member_list, start=1):
            if member is not None and not isinstance(member, dict):
                raise _p01(f"文件无法读取：第{i}个案件第{j}名成员不是对象（{{...}}）", f"case {i} member {j}")
            row = dict(household)
            row_extra = dict(case_extra)
            taken: set[str] = set()
            for k, v in (member or {}).items():
                fld = keys.get(header_key(k))
                if fld is not None and fld not in taken:  # a member value overrides the household's
                    row[fld] = _json_text(v)
                    taken.add(fld)
                else:
                    row_extra[str(k)] = v
            seen.update(row)
            records.append(row)
            extras.append(json.dumps(row_extra, ensure_ascii=False) if row_extra else None)
            refs.append(f"第{i}个案件第{j}名成员" if member is not None else f"第{i}个案件（无成员）")
    missing = [f for f in required if f not in seen]
    if missing and records:
        raise _missing_problem(missing, header_map)
    fields = [f for f in dict.fromkeys(keys.values()) if f in seen]
    columns: dict[str, list] = {f: [r.get(f) for r in records] for f in fields}
    columns["source_sheet"] = [None] * len(records)
    columns["source_row"] = list(range(1, len(records) + 1))
    columns["source_ref"] = refs
    columns["extra_json"] = extras
    schema = {f: pl.String for f in fields} | {
        "source_sheet": pl.String,
        "source_row": pl.Int64,
        "source_ref": pl.String,
        "extra_json": pl.String,
    }
    result.rows = pl.DataFrame(columns, schema=schema)


# ---------------------------------------------------------------- entry point


def read_submission(
    path: Path, header_map: dict[str, str], required: list[str], *, limits: FileLimits | None = None
) -> ReadResult:
    """Read one submission file into raw string rows; never raises (P01/P02 instead).

    `limits`: the home's (`FileLimits.from_reference(ref)`); by default the shipped settings'.
    A file over a limit is refused before it is loaded (P01 naming the limit)."""
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = suffix.lstrip(".") or None
    result = ReadResult(rows=None, file_format=fmt)
    try:
        if suffix not in (*EXCEL_SUFFIXES, ".csv", ".json"):
            raise _p01(f"文件无法读取：不支持的文件类型“{suffix or '无扩展名'}”（应为xlsx、xls、csv或json）")
        limits = limits or default_limits()
        size = _check_file_size(path, limits)
        if suffix in EXCEL_SUFFIXES and zipfile.is_zipfile(path):  # .xls (OLE) is bounded by its size
            check_xlsx(path, size, limits)
        elif suffix == ".csv":
            check_csv(path, header_map, limits)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _p01("文件无法打开：读取文件失败", f"{type(exc).__name__}: {exc.strerror}") from exc
        if not data.strip():
            raise _p01("文件没有内容：文件是空的")
        if suffix in EXCEL_SUFFIXES:
            _read_excel(data, header_map, required, result)
        elif suffix == ".csv":
            _read_csv(data, header_map, required, result, limits)
        else:
            _read_json(data, header_map, required, result, limits)
        if result.rows is not None and result.rows.height > limits.max_rows:
            raise _too_many_rows(result.rows.height, limits)
    except _Reject as rejected:
        result.rows = None
        result.problems = [rejected.problem]
    except Exception as exc:  # noqa: BLE001 - nothing escapes: an unexpected failure is a P01
        result.rows = None
        result.problems = [
            Problem("P01", "文件无法读取：内容格式无法识别", f"{type(exc).__name__}: {exc}"[:300])
        ]
    return result
