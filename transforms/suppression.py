"""Small-cell suppression for the public edition of the monthly report (SPEC §6, issue 14).

Counts under the threshold (5, zeros included) are shown as "<5" (primary
suppression); money inherits its primary suppression from a count (money paid
from households paid), since a small cell's money would reveal what a household
receives. More cells are hidden as "×" (complementary suppression) until no
hidden cell can be narrowed down by anyone who reads the published tables:

- the attacker's model is a linear program over the hidden cells: every
  published figure is fixed; a "<5" lies in [0, 4]; a count shown as "×" is 5
  or more (it would read "<5" otherwise); hidden money is not negative; every
  published relation holds — the towns of a column add up to its total, the
  programs of a row to theirs, last month's closing + new − exits = closing
  with last month's edition as printed, new ≤ closing, exits ≤ last month's
  closing, denials ≤ decisions;
- a hidden cell is protected when the smallest and the largest value the
  program allows for it are at least `min_width` (3) apart; last month's
  hidden cells count too, since this month's figures must not give them away;
- first, no relation may hold a single hidden cell (the cheapest other cell of
  it is hidden); then, while a cell is exposed, the complements tried are the
  cells of its own relations, those that the program's marginals say can widen
  it first, then interior cells before totals, cells with room to move before
  those that cannot (a "×" count of 5 cannot go down), the smallest value, the
  id (deterministic); the first that protects it is taken, else the one that
  widens it most;
- what the editions printed before pin down whatever this edition hides (6
  households last month, under 5 now) cannot be protected: such a cell stays
  "<5" and is reported as `inherited`; a complement so pinned protects nothing
  and is shown instead.

Each linear program is solved by HiGHS (SciPy's, as linprog calls it: transforms/highs.py) over the
connected group of hidden cells only; where only its optimal value or a feasible point is read, from
the basis of the group's last program (warm), and cold where its marginals choose a complement. Every feasible point found is kept, and
two points that far apart prove a cell protected without a program of its
own; rectangles of hidden cells (+ − − + across two rows and two columns, in
every table that a relation ties to it) and a few seeded random directions
provide most such points.

Pure functions (Polars in and out, numpy and scipy for the linear programs); no I/O.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from transforms.highs import LinearProgram, WarmSolver, minimise

THRESHOLD = 5
MIN_WIDTH = 3
COMPLEMENT_MARK = "×"
CANDIDATES = 8  # complements tried, cheapest first, for one exposed cell
PROBES = 8  # random directions tried on each group of hidden cells before the cell-by-cell check
_EPS = 1e-6


def primary_mark(threshold: int = THRESHOLD) -> str:
    return f"<{threshold}"


def is_primary(value: float | int | None, threshold: int = THRESHOLD, include_zero: bool = True) -> bool:
    """A count under the threshold (zero included unless include_zero is False)."""
    if value is None:
        return False
    return value < threshold and (include_zero or value != 0)


# ---------------------------------------------------------------- the attacker's linear program


@dataclass
class _Problem:
    """The published tables as the attacker sees them, and the hidden set being chosen."""

    value: dict[str, float]
    total: dict[str, bool]
    count: dict[str, bool]
    fixed: dict[str, str | None]  # None: to decide; 'shown', 'primary', 'complementary': published before
    primary: set[str]
    threshold: int
    include_zero: bool
    min_width: float
    equal: dict[str, list[tuple[str, float]]]
    at_most: dict[str, list[tuple[str, float]]]  # sum of coef x value <= 0
    hidden: set[str] = field(default_factory=set)
    cap: float | None = None  # no cell above its value plus this (the probes' programs)
    cell_lines: dict[str, list[tuple[str, str]]] = field(default_factory=dict, init=False)
    # the extremes of each cell over the feasible points found so far (the true values included):
    # every point stays feasible as more cells are hidden, so a cell once proven stays proven
    seen: dict[str, tuple[float, float]] = field(default_factory=dict, init=False)
    banned: set[str] = field(default_factory=set, init=False)  # complements that protect nothing
    _pinned: dict[str, bool] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        lines: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for kind, table in (("=", self.equal), ("<=", self.at_most)):
            for line, members in table.items():
                for c, _ in members:
                    lines[c].append((kind, line))
        self.cell_lines = dict(lines)
        self._cache_key: frozenset | None = None
        self._programs: dict[tuple, tuple[LinearProgram, list, list, dict, WarmSolver]] = {}

    def copy(self, **changes) -> _Problem:
        return replace(self, **({"hidden": set(self.hidden)} | changes))

    def members(self, kind: str, line: str) -> list[tuple[str, float]]:
        return (self.equal if kind == "=" else self.at_most)[line]

    def bounds(self, c: str) -> tuple[float, float | None]:
        """What the attacker knows of hidden cell `c` alone."""
        low, high = 0.0, None
        if self.count[c]:
            if c in self.primary:  # "<5": 0 to 4, or 1 to 4 where zeros are shown
                low, high = (0.0 if self.include_zero else 1.0), float(self.threshold - 1)
            else:  # "×" on a count: not under the threshold (or a zero, where zeros are shown)
                low = float(self.threshold) if self.include_zero else 0.0
        if self.cap is not None:
            high = self.value[c] + self.cap if high is None else min(high, self.value[c] + self.cap)
        return low, high

    def neighbours(self, c: str) -> set[str]:
        return {y for key in self.cell_lines.get(c, []) for y, _ in self.members(*key)}

    # -- groups of hidden cells (recomputed when the hidden set changes)

    def _components(self) -> dict[str, int]:
        key = frozenset(self.hidden)
        if self._cache_key == key:
            return self._cache
        parent = {c: c for c in self.hidden}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for table in (self.equal, self.at_most):
            for members in table.values():
                inside = [x for x, _ in members if x in parent]
                for x in inside[1:]:
                    a, b = find(inside[0]), find(x)
                    if a != b:
                        parent[a] = b
        roots: dict[str, int] = {}
        self._cache = {c: roots.setdefault(find(c), len(roots)) for c in sorted(self.hidden)}
        self._members: dict[int, list[str]] = defaultdict(list)
        for c, g in self._cache.items():
            self._members[g].append(c)
        self._cache_key = key
        return self._cache

    def group(self, c: str, extra: str | None = None) -> list[str]:
        """The hidden cells joined to `c` through relations holding two or more of them (with
        `extra` hidden too)."""
        components = self._components()
        cells = set(self._members[components[c]])
        if extra is not None:
            linked = self.neighbours(extra)
            if linked & cells:
                cells.add(extra)
                for y in linked:
                    if y in components:
                        cells.update(self._members[components[y]])
        return sorted(cells)

    # -- the linear programs

    def solve(self, cells: list[str], objective: np.ndarray, keep: bool) -> np.ndarray | None:
        """Minimise objective . x over `cells`, every other cell at its value (None: unbounded)."""
        res, _ = self._program(cells, objective, keep)
        return None if res is None else res.x

    def _program(self, cells: list[str], objective: np.ndarray, keep: bool, only: set | None = None,
                 marginals: bool = False):
        """The program itself: the solver's result (None: unbounded) and, for the marginals, the
        relation of each row (equalities, then the orders). `only`: these relations alone.

        A value (how far a cell goes) is the same from any optimal vertex, so it is solved warm,
        from the basis of the group's last program; `marginals` (which relations hold a cell, read
        by `helpers`) solves it cold, as linprog would, since a degenerate optimum has more than one
        set of them and the choice of complement must not depend on what was solved before."""
        program, eq_keys, ub_keys, solved, warm = self._constraints(cells, only)
        asked = (marginals, objective.tobytes())  # HiGHS is deterministic: the same program, the same point
        if asked not in solved:
            solved[asked] = minimise(program, objective) if marginals else warm.minimise(objective)
            if solved[asked].status not in (0, 3):  # a warm start in numerical trouble: cold, as linprog
                solved[asked] = minimise(program, objective)
        res = solved[asked]
        if res.status == 3:  # unbounded
            return None, []
        if res.status != 0:
            raise RuntimeError(f"suppression: the published relations do not hold ({res.message})")
        if keep:
            for x, v in zip(cells, res.x, strict=True):
                low, high = self.seen.get(x, (self.value[x], self.value[x]))
                self.seen[x] = (min(low, float(v)), max(high, float(v)))
        marginals = list(zip(eq_keys, res.eq_marginals if eq_keys else [], strict=True))
        marginals += list(zip(ub_keys, res.ub_marginals if ub_keys else [], strict=True))
        return res, marginals

    def _constraints(self, cells: list[str], only: set | None) -> tuple[LinearProgram, list, list, dict]:
        """The program's constraints over `cells` (every other cell at its value), the relation of
        each inequality and equality row: built once per set of cells (the bounds of a cell do not
        change while the hidden set grows, so a group's programs differ only in their objective)."""
        key = (tuple(cells), None if only is None else frozenset(only))
        if key in self._programs:
            return self._programs[key]
        index = {x: i for i, x in enumerate(cells)}
        a_eq, b_eq, a_ub, b_ub = [], [], [], []
        eq_keys, ub_keys = [], []
        lines = only if only is not None else {key for x in cells for key in self.cell_lines.get(x, [])}
        for kind, line in sorted(lines):
            row: dict[int, float] = {}
            rhs = 0.0
            for x, coef in self.members(kind, line):
                if x in index:
                    row[index[x]] = row.get(index[x], 0.0) + coef
                    if kind == "=":
                        rhs += coef * self.value[x]
                elif kind == "<=":
                    rhs -= coef * self.value[x]
            if not any(row.values()):
                continue
            (a_eq if kind == "=" else a_ub).append(row)
            (b_eq if kind == "=" else b_ub).append(rhs)
            (eq_keys if kind == "=" else ub_keys).append((kind, line))
        bounds = [self.bounds(x) for x in cells]
        program = LinearProgram.build(a_ub, b_ub, a_eq, b_eq, np.array([lo for lo, _ in bounds], dtype=float),
                                      np.array([np.inf if hi is None else hi for _, hi in bounds], dtype=float))
        self._programs[key] = (program, eq_keys, ub_keys, {}, WarmSolver(program))  # and the solutions
        return self._programs[key]

    def helpers(self, c: str, cells: list[str], options: list[str]) -> set[str]:
        """The options whose value, once hidden, could move in a direction that widens `c`: the
        marginals of c's smallest and largest value say how each relation holds it."""
        out: set[str] = set()
        for sign in (1.0, -1.0):
            objective = np.zeros(len(cells))
            objective[cells.index(c)] = sign
            res, marginals = self._program(cells, objective, False, marginals=True)
            if res is None:
                continue
            dual = {key: float(m) for key, m in marginals}
            for o in options:
                # hiding o lets every relation it is in shift by -coef x (x_o - v_o)
                slope = -sum(
                    dual.get(key, 0.0) * coef
                    for key in self.cell_lines.get(o, [])
                    for x, coef in self.members(*key)
                    if x == o
                )
                low, high = self.bounds_if_hidden(o)
                room = (
                    (math.inf if high is None else high - self.value[o]) if slope < 0 else self.value[o] - low
                )
                if abs(slope) > _EPS and room > _EPS:
                    out.add(o)
        return out

    def bounds_if_hidden(self, o: str) -> tuple[float, float | None]:
        """A cell hidden as a complement: "×", so a count is known to be at least the threshold."""
        if self.count[o] and o not in self.primary:
            return (float(self.threshold) if self.include_zero else 0.0, None)
        return self.bounds(o)

    def reach(self, c: str, sign: float, cells: list[str], keep: bool = True) -> float:
        """The smallest (sign 1) or largest (sign -1) value of `c` with `cells` free (`keep`: the
        point found proves the other cells too)."""
        objective = np.zeros(len(cells))
        objective[cells.index(c)] = sign
        res, _ = self._program(cells, objective, keep)
        return -sign * math.inf if res is None else float(res.x[cells.index(c)])

    def wide(self, low: float, high: float) -> bool:
        return high - low >= self.min_width - _EPS

    def proven(self, c: str) -> bool:
        return self.wide(*self.seen.get(c, (0.0, 0.0)))

    def interval(self, c: str) -> tuple[float, float]:
        """The attacker's interval of hidden cell `c`, or enough of it to tell it wide: the side
        with more room first (a zero's minimum is its value), the other only when needed."""
        cells = self.group(c)
        low, high = self.bounds(c)
        v = self.value[c]
        first = -1.0 if high is None or high - v >= v - low else 1.0
        a = self.reach(c, first, cells)
        if abs(a - v) >= self.min_width - _EPS:
            return (v, a) if first < 0 else (a, v)
        b = self.reach(c, -first, cells)
        return (min(a, b), max(a, b))

    def probe(self, cells: list[str], rounds: int) -> None:
        """Feasible points far apart in many cells at once (seeded random directions, each cell
        capped a little above its value so that every direction has a solution): they prove most
        cells protected without a program of their own."""
        rng = np.random.default_rng(len(cells))
        capped = self.copy(cap=2 * self.min_width)
        for _ in range(rounds):
            capped.solve(cells, rng.choice([-1.0, 1.0], size=len(cells)), True)
        for x, (low, high) in capped.seen.items():
            old = self.seen.get(x, (self.value[x], self.value[x]))
            self.seen[x] = (min(old[0], low), max(old[1], high))

    # -- choosing complements

    def cost(self, c: str) -> tuple:
        """Interior cells before totals; then cells with room to move (a hidden count cannot go
        under the threshold); then the smallest value; then the id."""
        floor = self.threshold if self.count[c] and self.include_zero else 0
        tight = self.value[c] - floor < self.min_width
        return (bool(self.total[c]), tight, abs(self.value[c]), c)

    def open(self, y: str) -> bool:
        """May `y` still be hidden as a complement? (Whether it would be pinned is asked later,
        of the few candidates tried.)"""
        return y not in self.hidden and self.fixed[y] is None and y not in self.banned

    def candidates(self, c: str) -> tuple[list[str], list[str]]:
        """Cells that may still be hidden on the relations of `c`, and those on the relations of
        the rest of its group (tried when none of the first will do)."""
        own = sorted((y for y in self.neighbours(c) if self.open(y)), key=self.cost)
        around = {y for x in self.group(c) for y in self.neighbours(x)} - set(own)
        return own, sorted((y for y in around if self.open(y)), key=self.cost)

    def pinned(self, y: str) -> bool:
        """True when `y`, hidden as a complement, would stay narrower than the width even with
        every cell of its own relations hidden too (a wider program than the attacker's: what it
        finds narrow is narrow). Such a complement would protect nothing: last month's closing
        of 6 leaves an exit of 5, shown as "×" (5 or more), no room at all."""
        if y not in self._pinned:
            own = set(self.cell_lines.get(y, []))
            free = sorted(x for x in self.neighbours(y) if x in self.hidden or self.fixed[x] is None)
            ends = []
            for sign in (1.0, -1.0):
                objective = np.zeros(len(free))
                objective[free.index(y)] = sign
                res, _ = self._program(free, objective, False, only=own)
                ends.append(-sign * math.inf if res is None else float(res.x[free.index(y)]))
            self._pinned[y] = not self.wide(*ends)
        return self._pinned[y]

    def complement_for(self, c: str, low: float, high: float) -> tuple[str | None, bool]:
        """The cheapest candidate that protects `c` (True), else the one that widens it most
        (False). Candidates that the marginals say can help are tried first, and among them those
        whose relations hold other hidden cells (a cell alone in a relation is exposed itself)."""
        own, further = self.candidates(c)
        useful = self.helpers(c, self.group(c), own)

        def alone(o: str) -> int:
            return sum(
                1
                for kind, line in self.cell_lines.get(o, [])
                if kind == "=" and not any(x in self.hidden for x, _ in self.members(kind, line) if x != o)
            )

        own.sort(key=lambda o: (o not in useful, alone(o), self.cost(o)))
        best: tuple | None = None
        pick = None
        tried = 0
        for option in own + further:
            if tried == CANDIDATES or (pick is not None and option in further):
                break
            if self.pinned(option):
                continue
            tried += 1
            cells = self.group(c, option)
            top = self.reach(c, -1.0, cells, keep=False)
            if self.wide(low, top):
                return option, True
            bottom = self.reach(c, 1.0, cells, keep=False)
            if self.wide(bottom, top):
                return option, True
            score = (bottom - top, self.cost(option))
            if best is None or score < best:
                best, pick = score, option
        return pick, False

    def single_pass(self) -> None:
        """No relation may hold exactly one hidden cell (it would be that relation's difference):
        the cheapest other cell of such a relation is hidden too. Cheap, and most of the work."""
        queue = sorted(self.equal)
        while queue:
            line = queue.pop()
            members = self.equal[line]
            inside = [x for x, _ in members if x in self.hidden]
            if len(inside) != 1:
                continue
            options = [x for x, _ in members if x not in self.hidden and self.fixed[x] is None]
            if not options:
                continue
            pick = min(options, key=self.cost)
            self.hidden.add(pick)
            queue.extend(line for kind, line in self.cell_lines[pick] if kind == "=")


@dataclass(frozen=True)
class Layout:
    """Where each cell sits in the crosstabs (for cheap proofs): `place` maps a cell to its
    table, row index and column index, the totals last in both; `families` are the sets of
    tables (with signs) that may move together without breaking a relation between tables
    (a table in no such relation moves alone); `orders` are (a, b) with a <= b cell by cell."""

    rows: int
    cols: int
    place: dict[str, tuple[str, int, int]]
    families: tuple[dict[str, int], ...]
    orders: tuple[tuple[str, str], ...]


def _rectangles(problem: _Problem, layout: Layout) -> None:
    """Proofs without a linear program: for every hidden cell, every rectangle of hidden cells
    through it (another row, another column, totals included) and every family of tables, how
    far the cell can move up and down with the rectangle's corners moving in turn (+ - - + in
    each table of the family, so that every total and every relation between tables still
    holds), within each corner's bounds and the slack of each order. Each such move ends at a
    feasible point, so a cell that moves 3 apart is proven protected (recorded in `seen`)."""
    tables = sorted({t for t, _, _ in layout.place.values()})
    shape = (layout.rows, layout.cols)
    value = {t: np.zeros(shape) for t in tables}
    up = {t: np.zeros(shape) for t in tables}  # room for x to rise, 0 where shown
    down = {t: np.zeros(shape) for t in tables}
    for c, (t, r, k) in layout.place.items():
        value[t][r, k] = problem.value[c]
        if c in problem.hidden:
            low, high = problem.bounds(c)
            up[t][r, k] = math.inf if high is None else high - problem.value[c]
            down[t][r, k] = problem.value[c] - low
    sigma = np.ones(shape)
    sigma[-1, :] *= -1
    sigma[:, -1] *= -1  # with the totals' signs flipped every row and column adds up to 0
    corners = (  # (pattern sign, how to spread a (rows, cols) array over (r, c, r2, c2))
        (1.0, lambda a: a[:, :, None, None]),
        (-1.0, lambda a: a[:, None, None, :]),
        (-1.0, lambda a: a.T[None, :, :, None]),
        (1.0, lambda a: a[None, None, :, :]),
    )
    r_idx = np.arange(layout.rows)
    c_idx = np.arange(layout.cols)
    degenerate = (r_idx[:, None, None, None] == r_idx[None, None, :, None]) | (
        c_idx[None, :, None, None] == c_idx[None, None, None, :]
    )
    best_rise = {t: np.zeros(shape) for t in tables}
    best_fall = {t: np.zeros(shape) for t in tables}
    for family in layout.families:
        if not set(family) <= set(tables):
            continue
        reach = {}
        for direction in (1.0, -1.0):
            room = np.full((layout.rows, layout.cols, layout.rows, layout.cols), math.inf)
            for pattern, spread in corners:
                moves = {t: sigma * pattern * direction * s for t, s in family.items()}  # x moves per unit
                for t, d in moves.items():
                    room = np.minimum(room, spread(np.where(d > 0, up[t], down[t])))
                for a, b in layout.orders:  # a <= b: a rising against b uses up the slack
                    if a not in tables or b not in tables:
                        continue
                    rate = moves.get(a, 0.0) - moves.get(b, 0.0)
                    if isinstance(rate, float) and rate == 0.0:
                        continue
                    slack = value[b] - value[a]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        limit = np.where(rate > 0, slack / np.where(rate > 0, rate, 1.0), math.inf)
                    room = np.minimum(room, spread(limit))
            room[degenerate] = 0.0
            reach[direction] = room.max(axis=(2, 3))  # the best rectangle through each cell
        for t, s in family.items():  # how far x of (r, c) goes up and down
            best_rise[t] = np.maximum(best_rise[t], np.where(sigma * s > 0, reach[1.0], reach[-1.0]))
            best_fall[t] = np.maximum(best_fall[t], np.where(sigma * s > 0, reach[-1.0], reach[1.0]))
    for c in problem.hidden:
        where = layout.place.get(c)
        if where is None:
            continue
        t, r, k = where
        rise, fall = best_rise[t][r, k], best_fall[t][r, k]
        if rise + fall > 0:
            v = problem.value[c]
            low, high = problem.seen.get(c, (v, v))
            problem.seen[c] = (min(low, v - fall), max(high, v + rise))


def _pinned_anyway(problem: _Problem, c: str, undecided: set[str]) -> bool:
    """True when `c` stays narrower than the width even with every undecided cell hidden."""
    everything = problem.copy(hidden=problem.hidden | undecided)
    cells = everything.group(c)
    return not everything.wide(everything.reach(c, 1.0, cells), everything.reach(c, -1.0, cells))


def protect(
    cells: pl.DataFrame,
    lines: pl.DataFrame,
    *,
    threshold: int = THRESHOLD,
    min_width: float = MIN_WIDTH,
    include_zero: bool = True,
    layout: Layout | None = None,
) -> pl.DataFrame:
    """Choose the cells to suppress.

    cells: cell (String id), value (number), is_total (Boolean), primary (Boolean), and
           optionally count (Boolean: a count, so a hidden one reads "<threshold" when primary
           and is known to be at least the threshold otherwise) and fixed (String: null for a
           cell to decide; 'shown', 'primary' or 'complementary' for a cell of an edition
           already published, which cannot change).
    lines: line (String id), cell (String), coef (number), and optionally sense ('=' or
           '<='): for '=' the sum over the line of coef x value is published or known (0 for
           a total line written with the total at coef -1); for '<=' it is known to be at
           most 0 (an order such as new <= closing).
    Returns cells with `suppressed` (Boolean), `reason` ('primary', 'complementary' or null;
    a published cell keeps its state) and `inherited` (Boolean): a hidden cell that what was
    published before narrows below the width whatever is hidden now (6 households last month,
    under 5 now: this month's closing, new and exits are each known within 2). Such a cell
    cannot be protected by this edition; it stays "<5".
    """
    ids = cells["cell"].to_list()
    count = cells["count"].to_list() if "count" in cells.columns else [False] * len(ids)
    fixed = cells["fixed"].to_list() if "fixed" in cells.columns else [None] * len(ids)
    values = cells["value"].cast(pl.Float64).fill_null(0).to_list()
    equal: dict[str, list[tuple[str, float]]] = defaultdict(list)
    at_most: dict[str, list[tuple[str, float]]] = defaultdict(list)
    known = set(ids)
    sense = lines["sense"].to_list() if "sense" in lines.columns else ["="] * lines.height
    for (line, cell, coef), s in zip(lines.select("line", "cell", "coef").iter_rows(), sense, strict=True):
        if cell not in known:
            raise ValueError(f"line {line} names an unknown cell {cell}")
        (at_most if s == "<=" else equal)[line].append((cell, float(coef)))
    primary = {
        c
        for c, p, f in zip(ids, cells["primary"].to_list(), fixed, strict=True)
        if (f is None and p) or f == "primary"
    }
    problem = _Problem(
        value=dict(zip(ids, values, strict=True)),
        total=dict(zip(ids, cells["is_total"].to_list(), strict=True)),
        count={c: bool(k) for c, k in zip(ids, count, strict=True)},
        fixed=dict(zip(ids, fixed, strict=True)),
        primary=primary,
        threshold=threshold,
        include_zero=include_zero,
        min_width=min_width,
        equal=dict(equal),
        at_most=dict(at_most),
    )
    problem.hidden = set(primary) | {c for c, f in problem.fixed.items() if f == "complementary"}
    # last month's hidden cells are protected here only if their own edition protected them
    published = {c for c, f in problem.fixed.items() if f is not None}
    before = problem.copy(
        equal={k: v for k, v in problem.equal.items() if all(c in published for c, _ in v)},
        at_most={k: v for k, v in problem.at_most.items() if all(c in published for c, _ in v)},
    )
    if layout is not None:
        _rectangles(before, layout)
    targets = sorted(c for c in problem.hidden if problem.fixed[c] is None)
    targets += sorted(
        c
        for c in problem.hidden
        if problem.fixed[c] is not None and (before.proven(c) or before.wide(*before.interval(c)))
    )
    problem.single_pass()
    targets += sorted(c for c in problem.hidden if c not in set(targets))
    if layout is not None:
        _rectangles(problem, layout)
    for group in sorted({tuple(problem.group(c)) for c in problem.hidden}):
        problem.probe(list(group), PROBES)
    undecided = {c for c, f in problem.fixed.items() if f is None}
    pinned: dict[str, bool] = {}
    inherited: set[str] = set()
    safe: set[str] = set()
    while True:
        exposed = None
        for c in targets:
            if c in safe:
                continue
            if not problem.proven(c):
                low, high = problem.interval(c)
                if not problem.wide(low, high):
                    exposed = (c, low, high)
                    break
            safe.add(c)
        if exposed is None:
            break
        c, low, high = exposed
        pick, enough = problem.complement_for(c, low, high)
        if not enough and pick is not None and c not in pinned:
            pinned[c] = _pinned_anyway(problem, c, undecided)
        if not enough and (pick is None or pinned[c]):
            # what was published before pins this cell down whatever this edition hides (last
            # month's closing of 0 leaves no exit to hide), or every cell that could widen it is
            # hidden already: not this edition's to protect. A complement so pinned protects
            # nothing either: it is shown, and every proof so far (made with it free) is made
            # again. (No complement left used to stop the whole report: 200 households, 2025-08.)
            if problem.fixed[c] is None and c not in primary:
                problem.hidden.discard(c)
                problem.banned.add(c)
                targets.remove(c)
                problem.seen = {}
                safe = set()
                if layout is not None:
                    _rectangles(problem, layout)
            else:
                safe.add(c)
                inherited.add(c)
            continue
        problem.hidden.add(pick)
        targets.append(pick)
        if layout is not None:
            _rectangles(problem, layout)
    reason = []
    for c, f in zip(ids, fixed, strict=True):
        if c not in problem.hidden:
            reason.append(None)
        elif f is not None:
            reason.append(f)
        else:
            reason.append("primary" if c in primary else "complementary")
    return cells.with_columns(
        suppressed=pl.Series([c in problem.hidden for c in ids], dtype=pl.Boolean),
        reason=pl.Series(reason, dtype=pl.String),
        inherited=pl.Series([c in inherited for c in ids], dtype=pl.Boolean),
    )


# ---------------------------------------------------------------- crosstabs


def _with_totals(
    base: pl.DataFrame, row: str, col: str, needed: Sequence[str], total_label: str
) -> pl.DataFrame:
    row_tot = (
        base.group_by(row).agg(pl.col(m).sum() for m in needed).with_columns(pl.lit(total_label).alias(col))
    )
    col_tot = (
        base.group_by(col).agg(pl.col(m).sum() for m in needed).with_columns(pl.lit(total_label).alias(row))
    )
    grand = base.select(pl.col(m).sum() for m in needed).with_columns(
        pl.lit(total_label).alias(row), pl.lit(total_label).alias(col)
    )
    return pl.concat(
        [base, row_tot.select(base.columns), col_tot.select(base.columns), grand.select(base.columns)],
        how="vertical_relaxed",
    )


def _layout(
    cells: pl.DataFrame,
    row: str,
    col: str,
    rows_all: list[str],
    cols_all: list[str],
    tables: list[str],
    links: Iterable[dict[str, int]],
    orders: Iterable[tuple[str, str]],
) -> Layout:
    """The crosstabs' layout for the rectangle proofs: the tables that may move together are
    each table in no link alone, and every pair whose moves cancel in every link."""
    r_at = {r: i for i, r in enumerate(rows_all)}
    c_at = {c: i for i, c in enumerate(cols_all)}
    place = {
        cell: (m, r_at[r], c_at[c])
        for cell, m, r, c in cells.select("cell", "measure", row, col).iter_rows()
        if r in r_at and c in c_at
    }
    links = [link for link in links if set(link) <= set(tables)]
    linked = {t for link in links for t in link}
    kept = tuple((a, b) for a, b in orders if a in tables and b in tables)
    ordered = {frozenset(pair) for pair in kept}
    families: list[dict[str, int]] = [{t: 1} for t in tables if t not in linked]
    for i, a in enumerate(tables):
        for b in tables[i + 1 :]:
            if a not in linked and b not in linked and frozenset((a, b)) not in ordered:
                continue  # each moves alone as well
            for sign in (1, -1):  # (two tables in no link always may)
                if all(link.get(a, 0) + sign * link.get(b, 0) == 0 for link in links):
                    families.append({a: 1, b: sign})
    return Layout(len(rows_all), len(cols_all), place, tuple(families), kept)


def crosstab_cells(
    frame: pl.DataFrame,
    *,
    row: str,
    col: str,
    measures: Sequence[str],
    total_label: str = "合计",
    counts: Iterable[str] = (),
    primary_from: dict[str, str] | None = None,
    prior: pl.DataFrame | None = None,
    links: Iterable[dict[str, int]] = (),
    orders: Iterable[tuple[str, str]] = (),
    threshold: int = THRESHOLD,
    include_zero: bool = True,
    min_width: float = MIN_WIDTH,
) -> pl.DataFrame:
    """Suppress a set of crosstabs that share rows and columns.

    frame: one row per (row, col) interior cell with an integer or money column
    per measure. For each measure the tables gain a total per row (over the
    columns), per column (over the rows) and a grand total, labelled
    `total_label`; the lines are "interior cells add up to their totals" both
    ways. `counts` are the measures suppressed for being under the threshold;
    `primary_from` maps a measure (money) to the count whose primary status it
    takes (that count must be a column of `frame`; it need not be published).

    prior: cells of an edition already published, as row, col, measure (named as
    in `links`, e.g. "households_closing@prior"), value (the true figure) and
    shown (what was printed: the figure, "<5" or "×"); their state is fixed, their
    rows and columns add up too, and their hidden cells are protected as well.
    links: relations that hold in every (row, col), as {measure: coefficient}, e.g.
    closing − closing@prior − new + exits = 0. orders: (a, b) where a ≤ b in every
    (row, col), e.g. new ≤ closing.

    Returns a long frame of this edition's cells: row, col, measure, value,
    suppressed, reason, shown (the value as text, "<5" for a primary count, "×" for
    any other hidden cell) and inherited (see protect).
    """
    counts = set(counts)
    primary_from = primary_from or {}
    needed = list(dict.fromkeys([*measures, *primary_from.values()]))
    base = frame.select(row, col, *needed).with_columns(
        pl.col(row).cast(pl.String), pl.col(col).cast(pl.String)
    )
    full = _with_totals(base, row, col, needed, total_label)
    long = full.unpivot(index=[row, col], on=needed, variable_name="measure", value_name="value")
    long = long.with_columns(
        cell=pl.col("measure") + "|" + pl.col(row) + "|" + pl.col(col),
        is_total=(pl.col(row) == total_label) | (pl.col(col) == total_label),
    )
    value_of = {
        (m, r, c): v
        for m, r, c, v in long.select("measure", row, col, pl.col("value").cast(pl.Float64)).iter_rows()
    }
    primary = []
    for m, r, c in long.select("measure", row, col).iter_rows():
        if m in counts:
            primary.append(is_primary(value_of[(m, r, c)], threshold, include_zero))
        elif m in primary_from:
            primary.append(is_primary(value_of[(primary_from[m], r, c)], threshold, include_zero))
        else:
            primary.append(False)
    long = long.with_columns(primary=pl.Series(primary, dtype=pl.Boolean))
    # only the published measures take part (a basis count that is not published is known to no one)
    published = long.filter(pl.col("measure").is_in(list(measures))).with_columns(
        count=pl.col("measure").is_in(list(counts)), fixed=pl.lit(None, pl.String)
    )
    cells = published.select("cell", row, col, "measure", "value", "is_total", "primary", "count", "fixed")
    prior_measures: list[str] = []
    if prior is not None and prior.height:
        mark = primary_mark(threshold)
        prior_cells = prior.select(
            pl.col(row).cast(pl.String),
            pl.col(col).cast(pl.String),
            pl.col("measure").cast(pl.String),
            pl.col("value"),
            pl.col("shown").cast(pl.String),
        ).with_columns(
            cell=pl.col("measure") + "|" + pl.col(row) + "|" + pl.col(col),
            is_total=(pl.col(row) == total_label) | (pl.col(col) == total_label),
            primary=pl.col("shown") == mark,
            # a prior measure is a count when its measure (without the suffix) is one
            count=pl.col("measure").str.split("@").list.first().is_in(list(counts)),
            fixed=pl.when(pl.col("shown") == mark)
            .then(pl.lit("primary"))
            .when(pl.col("shown") == COMPLEMENT_MARK)
            .then(pl.lit("complementary"))
            .otherwise(pl.lit("shown")),
        )
        prior_measures = sorted(set(prior_cells["measure"].to_list()))
        cells = pl.concat([cells, prior_cells.select(cells.columns)], how="vertical_relaxed")
    rows_all = sorted(set(published[row].to_list()) - {total_label}) + [total_label]
    cols_all = sorted(set(published[col].to_list()) - {total_label}) + [total_label]
    line_rows = []
    for m in [*measures, *prior_measures]:
        for r in rows_all:  # across the columns of a row
            line = f"{m}|row|{r}"
            for c in cols_all:
                line_rows.append((line, f"{m}|{r}|{c}", -1 if c == total_label else 1, "="))
        for c in cols_all:  # down the rows of a column
            line = f"{m}|col|{c}"
            for r in rows_all:
                line_rows.append((line, f"{m}|{r}|{c}", -1 if r == total_label else 1, "="))
    present = set(measures) | set(prior_measures)
    truth = dict(
        zip(cells["cell"].to_list(), cells["value"].cast(pl.Float64).fill_null(0).to_list(), strict=True)
    )
    # a relation is knowledge only where the figures obey it (the marts make sure they do)
    for n, link in enumerate(links):
        if not set(link) <= present:
            continue
        for r in rows_all:
            for c in cols_all:
                terms = [(f"{m}|{r}|{c}", k) for m, k in link.items()]
                if abs(sum(truth[x] * k for x, k in terms)) < _EPS:
                    line_rows += [(f"link{n}|{r}|{c}", x, k, "=") for x, k in terms]
    for a, b in orders:
        if not {a, b} <= present:
            continue
        for r in rows_all:
            for c in cols_all:
                small, large = f"{a}|{r}|{c}", f"{b}|{r}|{c}"
                if truth[small] <= truth[large] + _EPS:
                    line = f"order|{a}|{b}|{r}|{c}"
                    line_rows += [(line, small, 1, "<="), (line, large, -1, "<=")]
    lines = pl.DataFrame(
        line_rows,
        schema={"line": pl.String, "cell": pl.String, "coef": pl.Int64, "sense": pl.String},
        orient="row",
    )
    chosen = protect(
        cells.select("cell", "value", "is_total", "primary", "count", "fixed"),
        lines,
        threshold=threshold,
        min_width=min_width,
        include_zero=include_zero,
        layout=_layout(cells, row, col, rows_all, cols_all, [*measures, *prior_measures], links, orders),
    )
    mark = primary_mark(threshold)
    out = published.drop("primary", "count", "fixed").join(
        chosen.select("cell", "suppressed", "reason", "inherited"), on="cell", how="left"
    )
    return out.with_columns(
        shown=pl.when(~pl.col("suppressed"))
        .then(pl.col("value").cast(pl.String))
        .when((pl.col("reason") == "primary") & pl.col("measure").is_in(list(counts)))
        .then(pl.lit(mark))
        .otherwise(pl.lit(COMPLEMENT_MARK))
    ).select(row, col, "measure", "value", "suppressed", "reason", "shown", "inherited")
