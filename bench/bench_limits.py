"""Benchmark: memory and time of reading hostile and ordinary submissions (issue 14).

Each file is read by `intake.readers.read_submission` with the shipped limits,
in a fresh process, and that process's peak RSS is printed (its RSS after the
imports, before reading, is printed too: the growth is what the file cost):

- an xlsx decompression bomb (a ~0.6 MB file whose sheet XML expands to 200 MB) — refused;
- the same bomb with a lying zip directory (declares 50x, expands 300x) — refused;
- a 6 KB xlsx with one cell at XFD1048576 (the Excel reader would allocate 17 billion
  cells and abort the process) — refused;
- a CSV one data row over max_rows_per_file — refused;
- a JSON list of cases one member row over the limit — refused;
- a CSV over max_file_bytes (sparse on disk) — refused;
- a municipal-benchmark town file of about 107,000 rows, as CSV and as xlsx — accepted.

    .venv/bin/python bench/bench_limits.py
    .venv/bin/python bench/bench_limits.py --bomb-mb 1000   # a bigger bomb

The file builders are also used by tests/test_hostile_files.py.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

MIB = 1 << 20
CSV_HEADER = "案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,姓名,身份证号,与户主关系,是否保障对象"
CSV_ROW = "QJ-1,500110001,城市低保,批准,2025-03-01,2025-03-02,张三,11010519491231002X,户主,是"

# ---------------------------------------------------------------- builders

_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>'
).encode()
_WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def _row_xml(cells: list[str]) -> bytes:
    inner = "".join(f'<c t="inlineStr"><is><t>{c}</t></is></c>' for c in cells)
    return f"<row>{inner}</row>".encode()


def _deflate_repeated(head: bytes, block: bytes, copies: int, tail: bytes) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of head + block * copies + tail, built without
    holding the expanded bytes: after a full flush the compressor starts afresh, so every
    copy of the block compresses to the same bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    one = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(copies):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    return first + one * copies + last, crc, len(head) + len(block) * copies + len(tail)


def _write_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip of (name, raw deflate data, crc, size, declared size) members, written by hand
    so that a member's directory entry may declare a size it does not have."""
    local, central = bytearray(), bytearray()
    for name, raw, crc, _size, declared in members:
        encoded = name.encode()
        offset = len(local)
        local += struct.pack(
            "<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(raw), declared, len(encoded), 0
        )
        local += encoded + raw
        central += struct.pack(
            "<4s6H3I5H2I",
            b"PK\x01\x02",
            20,
            20,
            0,
            8,
            0,
            0x21,
            crc,
            len(raw),
            declared,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += encoded
    end = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(local), 0
    )
    path.write_bytes(bytes(local + central + end))
    return path


def _small(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return name, c.compress(data) + c.flush(), zlib.crc32(data), len(data), len(data)


def xlsx_bomb(path: Path, expanded_mb: int = 200, declared_ratio: int | None = None) -> Path:
    """A valid workbook (sheet 台账, a header and identical data rows) whose sheet XML expands
    to about `expanded_mb` MiB. `declared_ratio`: make the zip directory lie, declaring the
    sheet to be only that many times its compressed size."""
    header = [h for h in CSV_HEADER.split(",")]
    data = CSV_ROW.split(",")
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + _row_xml(header)
    )
    row = _row_xml(data)
    block = row * (MIB // len(row))
    raw, crc, size = _deflate_repeated(head, block, expanded_mb, b"</sheetData></worksheet>")
    declared = size if declared_ratio is None else len(raw) * declared_ratio
    members = [
        _small("[Content_Types].xml", _CONTENT_TYPES),
        _small("_rels/.rels", _ROOT_RELS),
        _small("xl/workbook.xml", _WORKBOOK),
        _small("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
        ("xl/worksheets/sheet1.xml", raw, crc, size, declared),
    ]
    return _write_zip(path, members)


def xlsx_with_sheet(path: Path, sheet_data: bytes) -> Path:
    """A workbook (sheet 台账) whose sheet XML holds `sheet_data` inside <sheetData>, as given:
    for sheets written the way some writer, or an attacker, writes them."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + sheet_data
        + b"</sheetData></worksheet>"
    )
    members = [
        _small("[Content_Types].xml", _CONTENT_TYPES),
        _small("_rels/.rels", _ROOT_RELS),
        _small("xl/workbook.xml", _WORKBOOK),
        _small("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
        _small("xl/worksheets/sheet1.xml", sheet),
    ]
    return _write_zip(path, members)


def sparse_xlsx(path: Path, cell: tuple[int, int] = (1_048_575, 16_383)) -> Path:
    """A few KB: a header row, one data row, and one cell far away (by default XFD1048576)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("台账")
    ws.write_row(0, 0, CSV_HEADER.split(","))
    ws.write_row(1, 0, CSV_ROW.split(","))
    ws.write_string(cell[0], cell[1], "x")
    wb.close()
    return path


def csv_rows(path: Path, rows: int, row: str = CSV_ROW) -> Path:
    """A CSV of a header and `rows` identical data rows, written in a stream."""
    line = (row + "\n").encode()
    with path.open("wb") as fh:
        fh.write((CSV_HEADER + "\n").encode())
        batch = line * 10_000
        for _ in range(rows // 10_000):
            fh.write(batch)
        fh.write(line * (rows % 10_000))
    return path


def json_cases(path: Path, rows: int) -> Path:
    """A JSON list of cases of two members each, `rows` member rows in all (rounded up to even)."""
    header, values = CSV_HEADER.split(","), CSV_ROW.split(",")
    member = dict(zip(header[6:], values[6:], strict=True))
    case = dict(zip(header[:6], values[:6], strict=True)) | {"members": [member, member]}
    one = json.dumps(case, ensure_ascii=False)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[\n")
        for i in range((rows + 1) // 2):
            fh.write(("," if i else "") + one + "\n")
        fh.write("]\n")
    return path


def sparse_file(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no room on disk (a CSV header, then holes)."""
    with path.open("wb") as fh:
        fh.write((CSV_HEADER + "\n").encode())
        fh.truncate(size)
    return path


def town_file(path: Path, households: int = 47_619) -> Path:
    """A municipal-benchmark town file (bench_ingest's rows: 1M households over 21 towns is
    about 47,600 households, 107,000 member rows, a town), as .csv or .xlsx by its suffix."""
    import polars as pl
    from bench_ingest import make_rows  # bench/ is this script's folder

    from core.reference import load_reference
    from publish.files import write_workbook

    rows = make_rows(households, load_reference()).with_columns(pl.lit("500110001").alias("镇街代码"))
    if path.suffix == ".csv":
        rows.write_csv(path)
    else:
        write_workbook(path, {"台账": rows})
    return path


# ---------------------------------------------------------------- measuring


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM). Unlike ru_maxrss it starts afresh at exec, so
    a child does not report the peak of the parent it was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def _measure(path: str) -> None:
    """Child process: read one file, print what happened as JSON."""
    import fastexcel  # noqa: F401 - imported before the baseline, as in a running flow

    from core.reference import load_reference
    from intake.readers import default_limits, read_submission

    ref = load_reference()
    header_map, required = ref.header_map(), ref.required_fields()
    default_limits()
    before = peak_rss_mib()
    t0 = time.perf_counter()
    result = read_submission(Path(path), header_map, required)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "ok": result.ok,
                "rows": result.rows.height if result.ok else None,
                "problem": result.problems[0].message_zh if result.problems else None,
                "seconds": seconds,
                "rss_before_mib": before,
                "peak_rss_mib": peak_rss_mib(),
            },
            ensure_ascii=False,
        )
    )


def measure(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-mb", type=int, default=200, help="what the bomb's sheet XML expands to (MiB)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure(args.measure)
        return
    from core.reference import load_reference

    ref = load_reference()
    max_rows = ref.setting_int("max_rows_per_file", 0)
    max_bytes = ref.setting_int("max_file_bytes", 0)
    root = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    try:
        cases = [
            (
                f"xlsx bomb ({args.bomb_mb} MiB of sheet XML)",
                lambda: xlsx_bomb(root / "bomb.xlsx", args.bomb_mb),
            ),
            (
                "xlsx bomb, zip directory lying (declares 50x)",
                lambda: xlsx_bomb(root / "liar.xlsx", args.bomb_mb, declared_ratio=50),
            ),
            ("xlsx with one cell at XFD1048576", lambda: sparse_xlsx(root / "sparse.xlsx")),
            (
                f"CSV of {max_rows + 1:,} data rows (1 over the limit)",
                lambda: csv_rows(root / "over.csv", max_rows + 1),
            ),
            (f"CSV of {max_rows:,} data rows (at the limit)", lambda: csv_rows(root / "at.csv", max_rows)),
            (
                f"JSON of {max_rows + 2:,} member rows (over the limit)",
                lambda: json_cases(root / "over.json", max_rows + 2),
            ),
            (
                f"CSV over max_file_bytes ({max_bytes + 1:,} bytes, sparse)",
                lambda: sparse_file(root / "big.csv", max_bytes + 1),
            ),
            ("town file, municipal benchmark, CSV", lambda: town_file(root / "town.csv")),
            ("town file, municipal benchmark, xlsx", lambda: town_file(root / "town.xlsx")),
        ]
        print(
            f"{'file':<52} {'size':>10} {'outcome':>9} {'rows':>9} {'read s':>7} {'RSS before':>11} "
            f"{'peak RSS':>9} {'growth':>7}"
        )
        for label, build in cases:
            path = build()
            got = measure(path)
            outcome = "accepted" if got["ok"] else "refused"
            growth = got["peak_rss_mib"] - got["rss_before_mib"]
            print(
                f"{label:<52} {path.stat().st_size / MIB:>8.2f}MB {outcome:>9} {got['rows'] or '':>9} "
                f"{got['seconds']:>7.2f} {got['rss_before_mib']:>8.0f}MiB {got['peak_rss_mib']:>6.0f}MiB "
                f"{growth:>4.0f}MiB"
            )
            if got["problem"]:
                print(f"    {got['problem']}")
            path.unlink()
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
