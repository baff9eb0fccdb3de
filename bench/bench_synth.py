"""Benchmark the synthetic district generator: households/s, rows, seconds, peak RSS.

    .venv/bin/python bench/bench_synth.py                      # 25,000 mixed formats
    .venv/bin/python bench/bench_synth.py --households 1000000 --formats csv

Each size runs in a fresh subprocess so peak RSS is that run's own. Numbers
are printed, never asserted (ENGINEERING.md: timing belongs in bench/).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _one(households: int, formats: str, seed: int, out: Path) -> dict:
    from synth import generate

    stages: dict[str, float] = {}
    last = [time.perf_counter(), "start"]

    def progress(stage: str, done: int, total: int) -> None:
        if stage != last[1]:
            now = time.perf_counter()
            stages[last[1]] = round(now - last[0], 2)
            last[0], last[1] = now, stage

    t0 = time.perf_counter()
    s = generate(out, households=households, seed=seed, formats=formats, progress=progress)
    seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and not p.is_symlink())
    return {
        "households": households,
        "formats": formats,
        "seconds": round(seconds, 2),
        "households_per_s": round(households / seconds),
        "cases": s.cases,
        "versions": s.versions,
        "submission_rows": s.member_rows,
        "submission_files": sum(v for k, v in s.files.items() if k in ("csv", "xlsx", "xls", "json")),
        "persons_in_cases": s.persons,
        "residents": s.residents,
        "registry_rows": s.registry_rows,
        "registry_files": sum(s.registry_files.values()),
        "planted": sum(s.planted.values()),
        "bytes_on_disk": size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "stage_seconds": stages,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, nargs="*", default=[25_000])
    ap.add_argument(
        "--formats", default=None, help="mixed or csv (default: mixed up to 100k households, csv above)"
    )
    ap.add_argument("--seed", type=int, default=20251231)
    ap.add_argument(
        "--keep", type=Path, default=None, help="write the homes here instead of a temporary folder"
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        out = args.keep
        print(json.dumps(_one(args.households[0], args.formats, args.seed, out)))
        return
    for n in args.households:
        fmt = args.formats or ("mixed" if n <= 100_000 else "csv")
        base = Path(tempfile.mkdtemp(prefix="synth-bench-")) if args.keep is None else args.keep
        out = base / f"home-{n}-{fmt}"
        cmd = [sys.executable, __file__, "--child", "--households", str(n), "--formats", fmt,
               "--seed", str(args.seed), "--keep", str(out)]  # fmt: skip
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            print(res.stderr, file=sys.stderr)
            raise SystemExit(res.returncode)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"{r['households']:>9,} households ({r['formats']}): {r['seconds']:.1f} s, "
            f"{r['households_per_s']:,} households/s, {r['submission_rows']:,} submission rows in "
            f"{r['submission_files']:,} files, {r['registry_rows']:,} registry rows, "
            f"peak RSS {r['peak_rss_mb']:,} MB, {r['bytes_on_disk'] / 1e6:,.0f} MB on disk"
        )
        print("   stages (s):", r["stage_seconds"])
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
