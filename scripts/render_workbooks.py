"""Render every kind of workbook a person opens, as it prints: LibreOffice -> PDF -> PNG.

    .venv/bin/python scripts/render_workbooks.py --home ./jiuzhu-demo [--out renderings]

Needs Debian's LibreOffice and poppler (`apt-get install libreoffice-calc-nogui
poppler-utils fonts-noto-cjk`); nothing is downloaded. For the newest file of each kind
(return file, bank batch, 暂停发放, 应追回, 核对报告, 抽查名单, 统计月报 and its public
edition, the towns' template) it prints the pages each sheet takes on A4 and writes the
first page as PNG, so a reviewer sees what a clerk will print. No test runs it: it is
how the page counts in docs/outputs.md were measured.

    .venv/bin/python scripts/render_workbooks.py --sheets out/reports/2025-10/统计月报_2025-10.xlsx [...]

prints the pages each sheet of the given workbooks takes (each sheet printed alone: the
others hidden in a copy), how the page counts in docs/statistics.md ("Printing") were measured.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KINDS = {
    "return file (问题清单)": "out/returns/*/*.问题.xlsx",
    "bank batch": "out/payments/*/[0-9]*.xlsx",
    "holds (暂停发放)": "out/payments/*/暂停发放.xlsx",
    "recoveries (应追回)": "out/payments/*/应追回.xlsx",
    "cross-check report (核对报告)": "out/crosscheck/*/*.核对报告.xlsx",
    "spot-check list (抽查名单)": "out/spotcheck/*/抽查名单_*.xlsx",
    "monthly report (统计月报)": "out/reports/*/统计月报_????-??.xlsx",
    "public edition (公开版)": "out/reports/*/统计月报_*_公开版.xlsx",
    "town template (救助台账模板)": "out/templates/*/救助台账模板.xlsx",
}


def newest(home: Path, pattern: str) -> Path | None:
    found = [p for p in home.glob(pattern) if p.is_file() and not p.name.startswith(".")]
    return max(found, key=lambda p: (p.stat().st_mtime, p.name)) if found else None


def render(workbook: Path, out: Path, label: str) -> tuple[int, Path | None]:
    """(pages, first page PNG) of one workbook printed to PDF by LibreOffice."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(workbook)],
                       check=True, capture_output=True, timeout=300)
        [pdf] = Path(tmp).glob("*.pdf")
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
        pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
        stem = out / label.split(" (")[0].replace(" ", "_")
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                       check=True, capture_output=True)
        shutil.copy(pdf, stem.with_suffix(".pdf"))
        return pages, stem.with_suffix(".png")


def pdf_pages(workbook: Path) -> int:
    """Pages of a workbook printed to PDF by LibreOffice."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(workbook)],
                       check=True, capture_output=True, timeout=300)
        [pdf] = Path(tmp).glob("*.pdf")
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
        return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pages_per_sheet(workbook: Path) -> dict[str, int]:
    """{sheet: pages} with each sheet printed alone (a copy with the other sheets hidden;
    openpyxl keeps the page setup)."""
    import openpyxl

    names = openpyxl.load_workbook(workbook, read_only=True).sheetnames
    out: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(names):
            book = openpyxl.load_workbook(workbook)
            for ws in book.worksheets:
                ws.sheet_state = "visible" if ws.title == name else "hidden"
            book.active = i
            one = Path(tmp) / f"sheet{i}.xlsx"
            book.save(one)
            out[name] = pdf_pages(one)
    return out


def print_sheets(workbooks: list[Path]) -> None:
    for workbook in workbooks:
        counts = pages_per_sheet(workbook)
        print(f"{workbook.name}: {pdf_pages(workbook)} pages printed whole")
        for name, pages in counts.items():
            print(f"  {name:<16} {pages:>4}")
        print(f"  {'(sum of sheets)':<16} {sum(counts.values()):>4}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--out", type=Path, default=Path("renderings"))
    parser.add_argument("--sheets", type=Path, nargs="+", help="workbooks to count pages per sheet of")
    args = parser.parse_args()
    if not shutil.which("soffice") or not shutil.which("pdftoppm"):
        print("needs LibreOffice and poppler: apt-get install libreoffice-calc-nogui poppler-utils fonts-noto-cjk")
        return 1
    if args.sheets:
        print_sheets(args.sheets)
        return 0
    if args.home is None:
        parser.error("--home or --sheets")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{'workbook':<34} {'pages':>5}  file")
    for label, pattern in KINDS.items():
        workbook = newest(args.home, pattern)
        if workbook is None:
            print(f"{label:<34} {'-':>5}  (none in this home)")
            continue
        pages, png = render(workbook, args.out, label)
        print(f"{label:<34} {pages:>5}  {workbook.relative_to(args.home)} -> {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
