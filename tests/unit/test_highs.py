"""transforms.highs calls SciPy's HiGHS as linprog does: the same point, the same marginals."""

import numpy as np
import pytest
from scipy.optimize import linprog

from transforms.highs import LinearProgram, WarmSolver, minimise


def _random_program(rng: np.random.Generator):
    """Tables that add up (x = value is feasible) with some cells free: many optima, so a
    different model or option would land on a different vertex."""
    n = int(rng.integers(3, 25))
    value = rng.integers(0, 30, size=n).astype(float)
    a_eq = [{int(j): float(rng.choice([1.0, -1.0])) for j in rng.choice(n, size=int(rng.integers(2, n + 1)),
                                                                         replace=False)} for _ in range(n // 2)]
    b_eq = [sum(v * value[j] for j, v in row.items()) for row in a_eq]
    a_ub = [{int(j): 1.0 for j in rng.choice(n, size=2, replace=False)} for _ in range(n // 3)]
    b_ub = [sum(value[j] for j in row) + float(rng.integers(0, 3)) for row in a_ub]
    lower = np.where(rng.random(n) < 0.3, 5.0, 0.0)
    lower = np.minimum(lower, value)
    upper = np.where(rng.random(n) < 0.3, value + 4, np.inf)
    return a_ub, b_ub, a_eq, b_eq, lower, upper


def _dense(rows, n):
    out = np.zeros((len(rows), n))
    for r, row in enumerate(rows):
        for j, v in row.items():
            out[r, j] += v
    return out


@pytest.mark.parametrize("seed", range(40))
def test_same_point_and_marginals_as_linprog(seed):
    rng = np.random.default_rng(seed)
    a_ub, b_ub, a_eq, b_eq, lower, upper = _random_program(rng)
    n = len(lower)
    program = LinearProgram.build(a_ub, b_ub, a_eq, b_eq, lower, upper)
    for _ in range(3):
        c = rng.choice([-1.0, 0.0, 1.0], size=n)
        ours = minimise(program, c)
        theirs = linprog(c, A_ub=_dense(a_ub, n) if a_ub else None, b_ub=np.array(b_ub) if a_ub else None,
                         A_eq=_dense(a_eq, n) if a_eq else None, b_eq=np.array(b_eq) if a_eq else None,
                         bounds=[(lo, None if np.isinf(hi) else hi) for lo, hi in zip(lower, upper, strict=True)],
                         method="highs")
        assert ours.status == theirs.status
        if theirs.status == 0:
            assert np.array_equal(ours.x, theirs.x)
            assert np.array_equal(ours.eq_marginals, theirs.eqlin.marginals if a_eq else np.empty(0))
            assert np.array_equal(ours.ub_marginals, theirs.ineqlin.marginals if a_ub else np.empty(0))


def test_unbounded_is_status_3():
    program = LinearProgram.build([], [], [{0: 1.0, 1: -1.0}], [0.0], np.zeros(2), np.full(2, np.inf))
    assert minimise(program, np.array([-1.0, 0.0])).status == 3
    assert minimise(program, np.array([1.0, 0.0])).status == 0


@pytest.mark.parametrize("seed", range(40))
def test_a_warm_solve_reaches_the_cold_optimum(seed):
    """One program, many objectives in turn (as the suppression asks how far each cell goes): each
    warm solve, started from the last one's basis, finds the optimum a cold solve finds, and a
    feasible point, unbounded where the cold one is."""
    rng = np.random.default_rng(1000 + seed)
    a_ub, b_ub, a_eq, b_eq, lower, upper = _random_program(rng)
    n = len(lower)
    program = LinearProgram.build(a_ub, b_ub, a_eq, b_eq, lower, upper)
    warm = WarmSolver(program)
    for _ in range(12):
        c = np.zeros(n)
        c[int(rng.integers(0, n))] = rng.choice([-1.0, 1.0])
        cold, hot = minimise(program, c), warm.minimise(c)
        assert hot.status == cold.status
        if cold.status == 0:
            assert float(c @ hot.x) == pytest.approx(float(c @ cold.x), abs=1e-7)
            assert np.all(hot.x >= lower - 1e-7) and np.all(hot.x <= upper + 1e-7)


def test_a_warm_solver_goes_on_after_an_unbounded_objective():
    program = LinearProgram.build([], [], [{0: 1.0, 1: -1.0}], [0.0], np.zeros(2), np.full(2, np.inf))
    warm = WarmSolver(program)
    assert warm.minimise(np.array([1.0, 0.0])).status == 0
    assert warm.minimise(np.array([-1.0, 0.0])).status == 3
    again = warm.minimise(np.array([0.0, 1.0]))
    assert again.status == 0 and again.x[1] == pytest.approx(0.0)
