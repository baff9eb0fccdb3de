"""Linear programs for small-cell suppression: the HiGHS solver that SciPy bundles, called directly.

`minimise` is `scipy.optimize.linprog(c, A_ub, b_ub, A_eq, b_eq, bounds, method="highs")`
without linprog's layers around the solver: the same model (inequality rows first, then
equality rows, as one column-wise matrix), the same options, the same solver and the same
feasibility check, so the same point comes back (tests/unit/test_highs.py compares the two).
The suppression of one month's public edition solves about 800 small programs; linprog spent
three quarters of their time checking and converting its inputs (issue 16, docs/benchmarks.md).
`WarmSolver` solves one program for many objectives, each from the last one's basis: the same
optimal value, not always the same point or marginals (a degenerate optimum has several).

It uses SciPy's private `scipy.optimize._highspy._core` (SciPy is pinned in constraints.txt;
tests/unit/test_highs.py fails on a SciPy that moved it or solves differently).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

_TOL = float(np.sqrt(1e-9) * 10)  # linprog's check of the solution (tol 1e-9, _check_result)


@dataclass(frozen=True)
class LPResult:
    status: int  # as linprog: 0 solved, 2 infeasible, 3 unbounded, 4 numerical trouble
    x: np.ndarray | None
    ub_marginals: np.ndarray  # one per inequality row
    eq_marginals: np.ndarray  # one per equality row
    message: str


@dataclass(frozen=True)
class LinearProgram:
    """The constraints of a program, ready for the solver; `minimise` takes the objective."""

    start: np.ndarray  # the matrix column-wise (CSC)
    index: np.ndarray
    value: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    inequalities: int  # the first rows are `a_ub x <= b_ub`, the rest `a_eq x = b_eq`

    @classmethod
    def build(cls, a_ub: list[dict[int, float]], b_ub: list[float], a_eq: list[dict[int, float]],
              b_eq: list[float], lower: np.ndarray, upper: np.ndarray) -> LinearProgram:
        """a_ub x <= b_ub, a_eq x = b_eq, lower <= x <= upper (np.inf: no upper bound). Rows are
        sparse {column: coefficient}; a zero coefficient is left out."""
        start, index, value = _columns(a_ub + a_eq, len(lower))
        return cls(start, index, value, np.array([-np.inf] * len(b_ub) + list(b_eq), dtype=float),
                   np.array(list(b_ub) + list(b_eq), dtype=float), np.asarray(lower, dtype=float),
                   np.asarray(upper, dtype=float), len(b_ub))


def minimise(program: LinearProgram, c: np.ndarray) -> LPResult:
    """min c.x subject to the program's constraints."""
    highs = _solver(program, c)
    highs.run()
    return _result(highs, program)


class WarmSolver:
    """One program solved for many objectives: each solve starts from the last one's basis
    (HiGHS skips presolve and most of the simplex then). The optimal value is the same as a
    cold `minimise`'s; where the optimum is not unique the point and the marginals may be
    another optimal vertex's, so callers that read the marginals use `minimise`."""

    def __init__(self, program: LinearProgram) -> None:
        self.program = program
        self.highs = None

    def minimise(self, c: np.ndarray) -> LPResult:
        if self.highs is None:
            self.highs = _solver(self.program, c)
        else:
            n = len(self.program.lower)
            self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(c, dtype=float))
        self.highs.run()
        result = _result(self.highs, self.program)
        if result.status != 0:
            self.highs = None  # the next objective starts afresh
        return result


def _solver(program: LinearProgram, c: np.ndarray):
    """A HiGHS instance holding the program with objective c, as linprog passes it."""
    core = _core()
    n, rows = len(program.lower), len(program.row_upper)
    lp = core.HighsLp()
    lp.num_col_, lp.num_row_ = n, rows
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, rows
    lp.a_matrix_.format_ = core.MatrixFormat.kColwise
    lp.col_cost_ = np.asarray(c, dtype=float)
    lp.col_lower_, lp.col_upper_ = program.lower, program.upper
    lp.row_lower_, lp.row_upper_ = program.row_lower, program.row_upper
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = program.start, program.index, program.value
    highs = core._Highs()
    highs.passOptions(_options())
    highs.passModel(lp)
    return highs


def _result(highs, program: LinearProgram) -> LPResult:
    """The solved program's status, point and marginals, with linprog's check of the point."""
    core = _core()
    status = highs.getModelStatus()
    message = highs.modelStatusToString(status)
    if status != core.HighsModelStatus.kOptimal:
        code = {core.HighsModelStatus.kInfeasible: 2, core.HighsModelStatus.kUnbounded: 3}.get(status, 4)
        return LPResult(code, None, np.empty(0), np.empty(0), message)
    solution = highs.getSolution()
    x = np.array(solution.col_value)
    duals = np.array(solution.row_dual)
    k = program.inequalities
    left = program.row_upper - np.asarray(solution.row_value, dtype=float)
    slack, residual = left[:k], left[k:]
    feasible = (
        not (np.isnan(x).any() or np.isnan(slack).any() or np.isnan(residual).any())
        and bool(np.all((x >= program.lower - _TOL) & (x <= program.upper + _TOL)))
        and not (slack < -_TOL).any()
        and not (np.abs(residual) > _TOL).any()
    )
    if not feasible:
        return LPResult(4, None, np.empty(0), np.empty(0), "the solution does not satisfy the constraints")
    return LPResult(0, x, duals[:k], duals[k:], message)


def _columns(rows: list[dict[int, float]], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows as a column-wise (CSC) matrix, row indices ascending within each column."""
    per_column: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for r, row in enumerate(rows):
        for j, v in row.items():
            if v != 0.0:
                per_column[j].append((r, v))
    start = np.zeros(n + 1, dtype=np.int32)
    index: list[int] = []
    value: list[float] = []
    for j, entries in enumerate(per_column):
        for r, v in entries:
            index.append(r)
            value.append(v)
        start[j + 1] = len(index)
    return start, np.array(index, dtype=np.int32), np.array(value, dtype=float)


@cache
def _core():
    import scipy.optimize._highspy._core as core  # imported when the first program is solved

    return core


@cache
def _options():
    """linprog's options for method="highs": presolve on, the dual simplex, silent."""
    core = _core()
    options = core.HighsOptions()
    options.presolve = "on"
    options.highs_debug_level = int(core.HighsDebugLevel.kHighsDebugLevelNone)
    options.log_to_console = False
    options.output_flag = False
    options.simplex_strategy = int(core.simplex_constants.SimplexStrategy.kSimplexStrategyDual)
    return options
