"""Compare the business outputs of two homes: the proof that a refactor or a speed-up changed nothing.

    .venv/bin/python scripts/compare_outputs.py snapshot HOME SNAPSHOT_DIR
    .venv/bin/python scripts/compare_outputs.py compare SNAPSHOT_A SNAPSHOT_B

A snapshot holds one canonical text per business object, and an index of their sha256:

- every table of the warehouse's business schemas (raw, core, checks, pay, mart), as CSV sorted by
  all its columns; audit, ref and the registry copies are bookkeeping and storage, not outputs;
- every file under out/ (an outbox file by its name without the time it was written): CSV, TXT and HTML by their bytes, JSON parsed and re-dumped, Parquet as
  sorted CSV, and each workbook as the values of its cells sheet by sheet (workbook metadata
  carries dates, so its bytes differ from run to run); GX Data Docs are left out (they carry the
  run's time in every page), and so is the analyst copy's audit table.

Run both homes with the same spot-check seed and analyst key (``bench/bench_cycle.py --reproducible``),
or the draw and the pseudonyms differ by design.

What differs from run to run by design is dropped before hashing (in JSON files and in JSON held in
``*_json`` columns too), and only that: run ids
(``run_id``, ``first_seen_run``, ``last_seen_run``, …), wall-clock stamps (columns and keys ending
in ``_at``), process ids and hosts, durations (``seconds``), and the code version.

``compare`` prints one line per object that is missing on one side or differs, with the first
differing line of each, and exits 1 when anything differs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
from pathlib import Path

import duckdb
import polars as pl

SCHEMAS = ("raw", "core", "checks", "pay", "mart")
# manifest_sha256: a spot-check draw's manifest records when it was drawn, so its hash is a clock reading too;
# fingerprint(s): the analyst copy's keyed fingerprints seal the code and the run ids; analyst_duckdb: the home's path
VOLATILE = re.compile(
    r"(^|_)(run_id|run|runs)$|_at$|^pid$|^host$|^process_start$|seconds|^code_version$|^duration|^manifest_sha256$"
    r"|^fingerprints?$|^analyst_duckdb$")
SKIPPED_FOLDERS = ("validation",)
STAMPED = re.compile(r"(?<=/)\d{8}T\d{6}-")  # an outbox file's name starts with the time it was written


def volatile(name: str) -> bool:
    return bool(VOLATILE.search(name))


def scrub(value):
    """JSON with its volatile keys removed, recursively."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not volatile(k)}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def scrub_json_text(text: str | None) -> str | None:
    return None if text is None else json.dumps(scrub(json.loads(text)), ensure_ascii=False, sort_keys=True)


def frame_text(frame: pl.DataFrame) -> str:
    frame = frame.select([c for c in frame.columns if not volatile(c)])
    frame = frame.with_columns(  # JSON held in a column (a draw's manifest, a run's summary): scrubbed too
        pl.col(c).map_elements(scrub_json_text, return_dtype=pl.String)
        for c in frame.columns if c.endswith("_json") and frame.schema[c] == pl.String
    )
    if frame.width:
        frame = frame.sort(frame.columns, nulls_last=True)
    return frame.write_csv()


def table_texts(database: Path) -> dict[str, str]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema IN (SELECT unnest(?)) ORDER BY 1, 2",
            [list(SCHEMAS)],
        ).fetchall()
        texts = {}
        for schema, table in tables:
            frame = con.table(f'"{schema}"."{table}"').pl()
            texts[f"warehouse/{schema}.{table}.csv"] = frame_text(frame)
        return texts
    finally:
        con.close()


def workbook_text(path: Path) -> str:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    out = io.StringIO()
    writer = csv.writer(out)
    for sheet in book.worksheets:
        writer.writerow([f"## {sheet.title}"])
        for row in sheet.iter_rows(values_only=True):
            writer.writerow(["" if v is None else str(v) for v in row])
    book.close()
    return out.getvalue()


def file_text(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".html", ".md"):
        return path.read_bytes().decode("utf-8", errors="replace")
    if suffix == ".json":
        return json.dumps(scrub(json.loads(path.read_text(encoding="utf-8"))), ensure_ascii=False, sort_keys=True,
                          indent=1)
    if suffix == ".parquet":
        return frame_text(pl.read_parquet(path))
    if suffix == ".xlsx":
        return workbook_text(path)
    return None


def snapshot(home: Path, dest: Path) -> int:
    texts = table_texts(home / "warehouse" / "jiuzhu.duckdb")
    out = home / "out"
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if not path.is_file() or rel.parts[0] in SKIPPED_FOLDERS or path.name.startswith("audit."):
            continue
        text = file_text(path)
        if text is not None:
            texts[f"out/{STAMPED.sub('', rel.as_posix())}"] = text
    index = {}
    for name, text in texts.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        index[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    (dest / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    print(f"{len(index)} objects ({sum(1 for n in index if n.startswith('warehouse/'))} tables) -> {dest}")
    return 0


def first_difference(a: Path, b: Path) -> str:
    left = a.read_text(encoding="utf-8").splitlines()
    right = b.read_text(encoding="utf-8").splitlines()
    for i, (x, y) in enumerate(zip(left, right, strict=False)):
        if x != y:
            return f"line {i + 1}: {x[:160]!r} != {y[:160]!r}"
    return f"{len(left)} lines != {len(right)} lines"


def compare(a: Path, b: Path) -> int:
    left = json.loads((a / "index.json").read_text(encoding="utf-8"))
    right = json.loads((b / "index.json").read_text(encoding="utf-8"))
    differ = 0
    for name in sorted(set(left) | set(right)):
        if name not in right:
            print(f"only in {a}: {name}")
        elif name not in left:
            print(f"only in {b}: {name}")
        elif left[name] != right[name]:
            print(f"differs: {name}: {first_difference(a / name, b / name)}")
        else:
            continue
        differ += 1
    same = len(set(left) & set(right)) - sum(1 for n in set(left) & set(right) if left[n] != right[n])
    print(f"{same} objects identical, {differ} differ or are missing")
    return 1 if differ else 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "snapshot":
        return snapshot(Path(argv[1]), Path(argv[2]))
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
