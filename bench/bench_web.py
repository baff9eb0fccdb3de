"""Load on the workbench while a district cycle writes the warehouse (issue 17).

    .venv/bin/python bench/bench_web.py --home jiuzhu-demo [--sessions 50] [--max-seconds 240]

Bounded and local: the home is copied to a temporary folder (the demo's own accounts and
warehouse are never touched), the workbench serves the copy from its own process on
127.0.0.1 only, and `jiuzhu run cycle` runs on the copy in another process. Meanwhile
`--sessions` signed-in officers browse the findings queue (filtered by town, rule and
severity, paged) and open findings, each one request after the other, until the cycle ends
(at least `--min-seconds`, at most `--max-seconds`, at most `--max-requests` per session).
Prints the p50/p95/p99 page time per page kind, during the cycle and in all, the errors, how
long the cycle held the warehouse, and how many snapshots the workbench took. Timing
belongs here, never in a test (ENGINEERING.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
HOST = "127.0.0.1"
PASSWORD = "bench-password-2025"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FINDING_LINK = re.compile(r'href="/findings/([0-9a-f]{16,64})"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def serve(home: str, port: int, as_of: str | None) -> None:
    """Server mode (a separate process, so the clients' threads do not share its interpreter)."""
    import logging
    from datetime import date

    import uvicorn

    from core.home import Home
    from web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    app = create_app(Home(Path(home)), as_of=date.fromisoformat(as_of) if as_of else None)

    @app.get("/bench/stats")
    def stats():
        wb = app.state.wb
        return {"snapshots": wb.snapshots.refreshes}

    uvicorn.run(app, host=HOST, port=port, access_log=False, log_level="warning")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class Session(threading.Thread):
    def __init__(self, base: str, user: str, towns: list[str], stop: threading.Event, max_requests: int,
                 seed: int) -> None:
        super().__init__(daemon=True)
        self.base, self.user, self.towns, self.stop, self.max_requests = base, user, towns, stop, max_requests
        self.rng = random.Random(seed)
        self.samples: list[tuple[str, float, float, int]] = []  # kind, started (monotonic), seconds, status
        self.errors: list[str] = []

    def run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.base, timeout=60, follow_redirects=True) as c:
            try:
                page = c.get("/login")
                token = CSRF.search(page.text).group(1)
                r = c.post("/login", data={"username": self.user, "password": PASSWORD, "csrf": token})
                if r.status_code != 200:
                    self.errors.append(f"login {r.status_code}")
                    return
            except Exception as exc:  # noqa: BLE001 - counted, the bench goes on
                self.errors.append(f"login {type(exc).__name__}")
                return
            seen: list[str] = []
            for _ in range(self.max_requests):
                if self.stop.is_set():
                    return
                if seen and self.rng.random() < 0.35:
                    kind, path = "finding", f"/findings/{self.rng.choice(seen)}"
                else:
                    params = {}
                    if self.rng.random() < 0.5:
                        params["town"] = self.rng.choice(self.towns)
                    if self.rng.random() < 0.3:
                        params["rule"] = self.rng.choice(["X", "V", "M", "X08", "V16"])
                    if self.rng.random() < 0.2:
                        params["severity"] = self.rng.choice(["error", "warning"])
                    if self.rng.random() < 0.2:
                        params["page"] = str(self.rng.randint(1, 3))
                    kind, path = "queue", "/findings?" + "&".join(f"{k}={v}" for k, v in params.items())
                started = time.monotonic()
                try:
                    r = c.get(path)
                    took = time.monotonic() - started
                    self.samples.append((kind, started, took, r.status_code))
                    if r.status_code != 200:
                        self.errors.append(f"{kind} {r.status_code}")
                    elif kind == "queue":
                        seen = (FINDING_LINK.findall(r.text) or seen)[:50]
                except Exception as exc:  # noqa: BLE001
                    self.errors.append(f"{kind} {type(exc).__name__}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default="jiuzhu-demo", help="A data home with a warehouse (make demo builds one).")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--min-seconds", type=float, default=30)
    parser.add_argument("--max-seconds", type=float, default=240)
    parser.add_argument("--max-requests", type=int, default=1000, help="Per session.")
    parser.add_argument("--after-seconds", type=float, default=15,
                        help="Keep browsing this long after the cycle (the workbench takes a new snapshot).")
    parser.add_argument("--as-of", default=None, help="The cycle's and the workbench's day (default: the home's "
                                                      "last run's as-of date).")
    parser.add_argument("--serve", nargs=3, metavar=("HOME", "PORT", "AS_OF"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve[2] or None)
        return 0
    if not 1 <= args.sessions <= 200 or args.max_seconds > 900:
        parser.error("bounded: 1-200 sessions, at most 900 seconds")

    import duckdb

    from core.accounts import AccountStore
    from core.home import Home

    source = Home(Path(args.home).expanduser().resolve())
    if not source.warehouse.exists():
        parser.error(f"no warehouse in {source.root}: build one with `make demo` (or pass --home)")
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    home = Home(work / "home")
    print(f"copying {source.root} -> {home.root} ...", flush=True)
    shutil.copytree(source.root, home.root, ignore=shutil.ignore_patterns("workbench", "workbench.sqlite*",
                                                                          "*.lock", "*.lock.json"))
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        last = con.execute("SELECT max(as_of) FROM audit.runs WHERE flow = 'cycle-notify'").fetchone()[0] or \
            con.execute("SELECT max(as_of) FROM audit.runs").fetchone()[0]
        towns = [r[0] for r in con.execute("SELECT DISTINCT town_code FROM checks.findings "
                                           "WHERE town_code IS NOT NULL ORDER BY 1").fetchall()]
        open_findings = con.execute("SELECT count(*) FROM checks.findings WHERE status = 'open'").fetchone()[0]
        size = home.warehouse.stat().st_size
    as_of = args.as_of or (last.isoformat() if last else None)
    store = AccountStore.for_home(home)
    users = [f"bench{n:03d}" for n in range(args.sessions)]
    for user in users:
        store.add(user, "officer", PASSWORD)
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(home.root), str(port), as_of or ""],
                              env=env, cwd=REPO)
    cycle = None
    try:
        import httpx

        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        print(f"workbench on {base}: {args.sessions} sessions, warehouse {size / 1e6:.1f} MB, "
              f"{open_findings:,} open findings, as of {as_of}", flush=True)
        holder = home.warehouse.with_name(home.warehouse.name + ".lock.json")
        held_samples: list[bool] = []
        stop = threading.Event()
        sessions = [Session(base, u, towns or ["500110001"], stop, args.max_requests, n) for n, u in enumerate(users)]
        cmd = [sys.executable, "-m", "jiuzhu.cli", "run", "cycle", "--home", str(home.root)]
        if as_of:
            cmd += ["--as-of", as_of]
        t0 = time.monotonic()
        cycle_log = work / "cycle.log"
        with cycle_log.open("wb") as out:
            cycle = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        for s in sessions:
            s.start()
        cycle_end = None
        while True:
            time.sleep(0.5)
            elapsed = time.monotonic() - t0
            held_samples.append(holder.exists())
            if cycle_end is None and cycle.poll() is not None:
                cycle_end = time.monotonic()
            busy = any(s.is_alive() for s in sessions)
            after = time.monotonic() - cycle_end if cycle_end is not None else 0.0
            if not busy or elapsed > args.max_seconds or (
                    cycle_end is not None and elapsed > args.min_seconds and after > args.after_seconds):
                break
        stop.set()
        for s in sessions:
            s.join(timeout=70)
        if cycle.poll() is None:
            print("the cycle is still running at the time limit: it is stopped", flush=True)
            cycle.terminate()
            cycle.wait(60)
            cycle_end = cycle_end or time.monotonic()
        stats = {}
        with contextlib.suppress(httpx.HTTPError):
            stats = httpx.get(f"{base}/bench/stats", timeout=5).json()
    finally:
        server.terminate()
        server.wait(30)
        if cycle is not None and cycle.poll() is None:
            cycle.kill()
    samples = [x for s in sessions for x in s.samples]
    errors = [e for s in sessions for e in s.errors]
    during = [x for x in samples if x[1] < (cycle_end or float("inf")) and x[1] >= t0]

    def line(label: str, rows: list) -> str:
        times = [x[2] * 1000 for x in rows]
        if not times:
            return f"  {label:<22} (none)"
        return (f"  {label:<22} n={len(times):>6,}  p50={percentile(times, 50):7.1f} ms  "
                f"p95={percentile(times, 95):7.1f} ms  p99={percentile(times, 99):7.1f} ms  "
                f"max={max(times):7.1f} ms  mean={statistics.fmean(times):6.1f} ms")

    print()
    print(f"cycle: exit {cycle.returncode if cycle else None} after {((cycle_end or t0) - t0):.1f} s; "
          f"warehouse held by a writer in {sum(held_samples)}/{len(held_samples)} half-second samples")
    if cycle is not None and cycle.returncode:
        print("  " + "\n  ".join(cycle_log.read_text(encoding="utf-8", errors="replace").splitlines()[-3:]))
    print(f"requests: {len(samples):,} ({len(errors)} errors{': ' + ', '.join(sorted(set(errors))[:5]) if errors else ''})"
          f"; snapshots taken by the workbench: {stats.get('snapshots', '?')}")
    print("page times while the cycle ran:")
    print(line("queue", [x for x in during if x[0] == "queue"]))
    print(line("finding", [x for x in during if x[0] == "finding"]))
    print(line("all pages", during))
    print(line("after the cycle", [x for x in samples if cycle_end is not None and x[1] >= cycle_end]))
    print("page times over the whole run:")
    print(line("all pages", samples))
    print(json.dumps({"sessions": args.sessions, "requests": len(samples), "errors": len(errors),
                      "cycle_seconds": round((cycle_end or t0) - t0, 1),
                      "p95_ms_during_cycle": round(percentile([x[2] * 1000 for x in during], 95), 1),
                      "p95_ms_all": round(percentile([x[2] * 1000 for x in samples], 95), 1)}))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
