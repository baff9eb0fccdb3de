"""An attacker of the public edition (issue 14, item 4), independent of the code that protects it.

Reads 统计月报_<YYYY-MM>_公开版.xlsx the way anyone can — the headers, the town codes, "<5"
and "×" — and bounds every hidden cell by linear programming (scipy.optimize.linprog):

- every published figure is fixed; a "<5" is between 0 and 4; a hidden count shown as "×" is
  not under 5 (else it would read "<5"); hidden money is not negative;
- the towns of a column add up to its 合计, the programs of a row to the row's 合计;
- with last month's edition: last month's closing + new − exits = this month's closing
  (期初 = 上月期末, published in 说明), for every town and program and the totals;
- optionally the orders any reader of 说明 knows: new ≤ closing, exits ≤ last month's closing,
  不予批准 ≤ 审批件数.

`intervals` gives (min, max) for every hidden cell; a cell whose interval is narrower than 3
has been (nearly) recovered. Used by tests/test_suppression_attack.py and
bench/bench_suppression.py.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from python_calamine import CalamineWorkbook
from scipy.optimize import linprog

TOTAL = "合计"
THRESHOLD = 5
HEADERS = {
    "期末户数": "households_closing",
    "期末人数": "persons_closing",
    "新增户数": "households_new",
    "退出户数": "households_exits",
    "发放金额（元）": "money_paid",
    "审批件数": "decisions",
    "不予批准": "denials",
}
MONEY = {"money_paid"}
Cell = tuple[str, str, str, str]  # (edition, measure, town or 合计, program label or 合计)


def read_edition(path: Path) -> dict[tuple[str, str, str], object]:
    """Every published cell of one public edition: (measure, town, program label) -> value or mark."""
    book = CalamineWorkbook.from_path(str(path))
    cells: dict[tuple[str, str, str], object] = {}

    def put(key, value):
        if key in cells and cells[key] != value:
            raise AssertionError(f"{path.name}: {key} shows {cells[key]!r} and {value!r}")
        cells[key] = value

    for name in book.sheet_names:
        if name == "说明":
            continue
        rows = book.get_sheet_by_name(name).to_python()
        head = next(i for i, r in enumerate(rows) if any(v in HEADERS for v in r))
        columns = {j: HEADERS[v] for j, v in enumerate(rows[head]) if v in HEADERS}
        for r in rows[head + 1 :]:
            if name == "汇总":  # one row per program, then 合计
                if not r[0]:
                    continue
                town, program = TOTAL, str(r[0])
            else:
                label = str(r[1]) if len(r) > 1 else ""
                town = TOTAL if label.startswith(TOTAL) else str(r[0])
                if not town:
                    continue
                program = TOTAL if name == "分镇街合计" else name
            for j, measure in columns.items():
                put((measure, town, program), r[j])
    return cells


def hidden(value: object) -> bool:
    return isinstance(value, str)


def intervals(
    current: dict[tuple[str, str, str], object],
    previous: dict[tuple[str, str, str], object] | None = None,
    *,
    orders: bool = True,
    only: set[Cell] | None = None,
) -> dict[Cell, tuple[float, float]]:
    """(min, max) of every hidden cell of `current` and of `previous` (last month's edition);
    `only`: of these cells alone."""
    editions = {"m": current} | ({"m-1": previous} if previous is not None else {})
    cells: dict[Cell, object] = {(e, *k): v for e, d in editions.items() for k, v in d.items()}
    towns = sorted({t for (_, _, t, _) in cells if t != TOTAL})
    programs = sorted({p for (_, _, _, p) in cells if p != TOTAL})
    equations: list[dict[Cell, float]] = []
    inequalities: list[dict[Cell, float]] = []  # sum <= 0
    for e, data in editions.items():
        for m in {k[0] for k in data}:
            for t in [*towns, TOTAL]:
                equations.append({(e, m, t, p): 1.0 for p in programs} | {(e, m, t, TOTAL): -1.0})
            for p in [*programs, TOTAL]:
                equations.append({(e, m, t, p): 1.0 for t in towns} | {(e, m, TOTAL, p): -1.0})
    for t in [*towns, TOTAL]:
        for p in [*programs, TOTAL]:
            if previous is not None:
                equations.append(
                    {
                        ("m", "households_closing", t, p): 1.0,
                        ("m-1", "households_closing", t, p): -1.0,
                        ("m", "households_new", t, p): -1.0,
                        ("m", "households_exits", t, p): 1.0,
                    }
                )
            if orders:
                for e in editions:
                    inequalities.append(
                        {(e, "households_new", t, p): 1.0, (e, "households_closing", t, p): -1.0}
                    )
                    inequalities.append({(e, "denials", t, p): 1.0, (e, "decisions", t, p): -1.0})
                if previous is not None:
                    inequalities.append(
                        {("m", "households_exits", t, p): 1.0, ("m-1", "households_closing", t, p): -1.0}
                    )
    unknown = sorted(k for k, v in cells.items() if hidden(v))
    relations = [(rel, "=") for rel in equations] + [(rel, "<=") for rel in inequalities]
    relations = [(rel, sense) for rel, sense in relations if all(k in cells for k in rel)]  # tables given
    # the hidden cells fall apart into groups that no relation joins: one linear program per group
    parent = {k: k for k in unknown}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for rel, _ in relations:
        ks = [k for k in rel if hidden(cells[k])]
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])
    groups: dict[Cell, list[Cell]] = defaultdict(list)
    for k in unknown:
        groups[find(k)].append(k)
    out: dict[Cell, tuple[float, float]] = {}
    for members in groups.values():
        if only is not None and not set(members) & only:
            continue
        mine = [(r, s) for r, s in relations if any(k in r for k in members)]
        out.update(_solve(members, mine, cells, only))
    return out


def _solve(unknown: list[Cell], relations, cells, only: set[Cell] | None) -> dict[Cell, tuple[float, float]]:
    index = {k: i for i, k in enumerate(unknown)}
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for rel, sense in relations:
        row = np.zeros(len(unknown))
        rhs = 0.0
        for k, coef in rel.items():
            v = cells[k]
            if hidden(v):
                row[index[k]] += coef
            else:
                rhs -= coef * float(v or 0)
        if row.any():
            (a_eq if sense == "=" else a_ub).append(row)
            (b_eq if sense == "=" else b_ub).append(rhs)
    bounds = []
    for e, m, t, p in unknown:
        mark = cells[(e, m, t, p)]
        if mark == f"<{THRESHOLD}":
            bounds.append((0, THRESHOLD - 1))
        elif m in MONEY:
            bounds.append((0, None))
        else:
            bounds.append((THRESHOLD, None))  # a hidden count that does not read "<5" is 5 or more
    matrices = {
        "A_eq": np.array(a_eq) if a_eq else None,
        "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": np.array(a_ub) if a_ub else None,
        "b_ub": np.array(b_ub) if b_ub else None,
    }
    out: dict[Cell, tuple[float, float]] = {}
    points: list[np.ndarray] = []
    for i, k in enumerate(unknown):
        if only is not None and k not in only:
            continue
        if points:
            seen = [pt[i] for pt in points]
            if max(seen) - min(seen) >= 3:  # feasible points already that far apart
                out[k] = (min(seen), max(seen))
                continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(unknown))
            c[i] = sign
            res = linprog(c, bounds=bounds, method="highs", **matrices)
            if res.status == 3:
                ends.append(sign * -np.inf)
            elif res.status == 0:
                points.append(res.x)
                ends.append(res.x[i])
            else:
                raise AssertionError(f"the published tables are inconsistent: {res.message}")
        out[k] = (ends[0], ends[1])
    return out


def exposed(found: dict[Cell, tuple[float, float]], width: float = 3) -> dict[Cell, tuple[float, float]]:
    """The hidden cells whose interval is narrower than `width`."""
    return {k: v for k, v in found.items() if v[1] - v[0] < width - 1e-6}


def summary(found: dict[Cell, tuple[float, float]]) -> dict[str, int]:
    """Counts of the current edition's hidden cells: exact (recovered), pinned to two values, narrower than 3."""
    out: dict[str, int] = defaultdict(int)
    for (edition, _m, _t, _p), (lo, hi) in found.items():
        if edition != "m":
            continue
        out["hidden"] += 1
        w = hi - lo
        if w < 1e-6:
            out["exact"] += 1
        elif w <= 1 + 1e-6:
            out["two values"] += 1
        elif w < 3 - 1e-6:
            out["narrower than 3"] += 1
    return dict(out)
