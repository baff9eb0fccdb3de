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
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

import polars as pl

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


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


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


def _read_csv(data: bytes, header_map: dict[str, str], required: list[str], result: ReadResult) -> None:
    text, encoding = _decode(data)
    result.encoding = encoding
    if "\x00" in text:
        raise _p01("文件无法读取：不是文本格式的CSV文件", "NUL byte in text")
    if not text.strip():
        raise _p01("文件没有内容")
    keys = _keys(header_map)
    best_choice: tuple[int, int, str, list[list[str]]] | None = None  # (count, idx, sep, records)
    best_count = 0
    for sep in CSV_SEPARATORS:
        records = _first_records(text, sep)
        idx, count = _find_header(records, keys)
        best_count = max(best_count, count)
        if idx is not None and (best_choice is None or count > best_choice[0]):
            best_choice = (count, idx, sep, records)
    if best_choice is None:
        raise _missing_problem(required, header_map, prefix=_no_header_prefix(best_count))
    _, header_idx, sep, records = best_choice
    result.header_row = header_idx + 1
    header_cells: list[object] = list(records[header_idx])
    width = len(header_cells)
    schema = {f"c{i}": pl.String for i in range(width)}
    payload = (
        text.encode("utf-8") if encoding == "gb18030" else (data[3:] if encoding == "utf-8-sig" else data)
    )
    try:
        grid = pl.read_csv(
            payload,
            has_header=False,
            skip_rows=header_idx + 1,
            schema=schema,
            separator=sep,
            raise_if_empty=False,
        )
    except Exception:  # noqa: BLE001 - ragged or odd quoting: the slow, forgiving path
        grid, width = _python_csv(text, sep, header_idx)
        header_cells += [None] * (width - len(header_cells))
    unnamed = [f"列{i + 1}" for i in range(len(header_cells))]
    rows, skipped = _assemble(grid, header_cells, unnamed, header_idx + 2, None, header_map, required)
    result.rows, result.empty_rows_skipped = rows, skipped


def _python_csv(text: str, sep: str, header_idx: int) -> tuple[pl.DataFrame, int]:
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=sep))[header_idx + 1 :]
    except csv.Error as exc:
        raise _p01("文件无法读取：CSV格式错误", str(exc)) from exc
    width = max([len(r) for r in records] + [len(_first_records(text, sep)[header_idx])])
    columns = {
        f"c{i}": [(r[i] if i < len(r) and r[i] != "" else None) for r in records] for i in range(width)
    }
    return pl.DataFrame(columns, schema={c: pl.String for c in columns}), width


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


def _read_json(data: bytes, header_map: dict[str, str], required: list[str], result: ReadResult) -> None:
    text, encoding = _decode(data)
    result.encoding = encoding
    if not text.strip():
        raise _p01("文件没有内容")
    try:
        cases = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _p01("文件无法读取：不是有效的JSON文件", str(exc)) from exc
    if not isinstance(cases, list):
        raise _p01("文件无法读取：JSON文件应为案件列表（[...]）", f"top level is {type(cases).__name__}")
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


def read_submission(path: Path, header_map: dict[str, str], required: list[str]) -> ReadResult:
    """Read one submission file into raw string rows; never raises (P01/P02 instead)."""
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = suffix.lstrip(".") or None
    result = ReadResult(rows=None, file_format=fmt)
    try:
        if suffix not in (*EXCEL_SUFFIXES, ".csv", ".json"):
            raise _p01(f"文件无法读取：不支持的文件类型“{suffix or '无扩展名'}”（应为xlsx、xls、csv或json）")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _p01("文件无法打开：读取文件失败", f"{type(exc).__name__}: {exc.strerror}") from exc
        if not data.strip():
            raise _p01("文件没有内容：文件是空的")
        if suffix in EXCEL_SUFFIXES:
            _read_excel(data, header_map, required, result)
        elif suffix == ".csv":
            _read_csv(data, header_map, required, result)
        else:
            _read_json(data, header_map, required, result)
    except _Reject as rejected:
        result.rows = None
        result.problems = [rejected.problem]
    except Exception as exc:  # noqa: BLE001 - nothing escapes: an unexpected failure is a P01
        result.rows = None
        result.problems = [
            Problem("P01", "文件无法读取：内容格式无法识别", f"{type(exc).__name__}: {exc}"[:300])
        ]
    return result
