"""Render every kind of workbook a person opens, as it prints: LibreOffice -> PDF -> PNG.

    .venv/bin/python scripts/render_workbooks.py --home ./jiuzhu-demo [--out renderings]

Needs Debian's LibreOffice and poppler (`apt-get install libreoffice-calc-nogui
poppler-utils fonts-noto-cjk`); nothing is downloaded. For the newest file of each kind
(return file, bank batch, 暂停发放, 应追回, 核对报告, 抽查名单, 统计月报 and its public
edition, the towns' template) it prints the pages each sheet takes on A4 and writes the
first page as PNG, so a reviewer sees what a clerk will print. No test runs it: it is
how the page counts in docs/outputs.md were measured.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("renderings"))
    args = parser.parse_args()
    if not shutil.which("soffice") or not shutil.which("pdftoppm"):
        print("needs LibreOffice and poppler: apt-get install libreoffice-calc-nogui poppler-utils fonts-noto-cjk")
        return 1
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
