"""How busy this machine is with work that is not ours.

The 1-minute load average counts this process's own busy threads (the writer, DuckDB's threads) and
its worker's. Asking "is a core free?" of the load average alone therefore says no whenever our own
cycle is busy — which is exactly when a worker on the second core would help. `others_load` takes
our own recent CPU rate (this process and the children we name, read from /proc) off the load.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

WINDOW_S = 60.0  # the load average's own horizon: our CPU rate is taken over the same minute
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_SAMPLES: deque[tuple[float, float]] = deque()  # (monotonic time, CPU seconds of us and our workers)
_SAMPLES_LOCK = threading.Lock()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (Linux /proc); None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat(5))


def _started_seconds_ago(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            start_ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return max(uptime - start_ticks / _TICKS, 1e-3)


def own_cpu_rate(children: tuple[int, ...] = (), *, now: float | None = None) -> float:
    """Cores' worth of CPU this process and `children` used over about the last minute (the
    process's lifetime average on the first call). 0.0 where /proc cannot be read."""
    now = time.monotonic() if now is None else now
    used = [cpu_seconds(pid) for pid in (os.getpid(), *children)]
    total = sum(u for u in used if u is not None)
    if used[0] is None:
        return 0.0
    with _SAMPLES_LOCK:
        while len(_SAMPLES) > 1 and now - _SAMPLES[1][0] >= WINDOW_S:
            _SAMPLES.popleft()  # keep the newest sample that is at least a window old
        if not _SAMPLES or now - _SAMPLES[-1][0] >= 1.0:  # a sample a second at most: a short list
            _SAMPLES.append((now, total))
        then, before = _SAMPLES[0]
    if now - then < 1.0:  # nothing to compare with yet: the average since this process started
        age = _started_seconds_ago(os.getpid())
        return (used[0] / age) if age else 0.0
    return max(total - before, 0.0) / (now - then)


def others_load(children: tuple[int, ...] = ()) -> float:
    """The 1-minute load average less our own share of it (never below 0)."""
    return max(os.getloadavg()[0] - own_cpu_rate(children), 0.0)


def core_free(children: tuple[int, ...] = ()) -> bool:
    """Whether other work leaves this process a second core: the load of others below cores - 1.
    On a machine busy with other work a worker process only adds the cost of handing it its frames
    (200,000 households at load 5: 42-46 s with a worker against 36-43 s without)."""
    return others_load(children) < (os.cpu_count() or 1) - 1
