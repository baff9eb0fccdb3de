"""Small-cell suppression for the public edition of the monthly report (SPEC §6).

Counts under the threshold (5) are shown as "<5" (primary suppression). So
that no suppressed cell can be recomputed by subtraction from the totals that
stay published, more cells are hidden (complementary suppression, shown as
"×") until no suppressed cell's value follows from the published cells:

1. every *line* — a linear relation between published cells, such as "the
   towns of a column add up to its total" or "closing − opening = new − exits"
   — holds either no suppressed cell or at least two;
2. then, exactly: a suppressed cell is recoverable when its unit vector lies in
   the row space of the lines restricted to the suppressed cells (the
   relations combined, not only one at a time). Each recoverable cell gets a
   further complement from one of its lines, until none is recoverable.

Complements are the cells that lose least: interior cells before totals, the
smallest value first, then by cell id (deterministic). Money cells inherit
their primary suppression from a count (e.g. money paid from households
paid), since a small cell's money would reveal what a household receives.

Pure functions (Polars in and out, numpy for the rank test); no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

THRESHOLD = 5
COMPLEMENT_MARK = "×"
_EPS = 1e-9


def primary_mark(threshold: int = THRESHOLD) -> str:
    return f"<{threshold}"


def is_primary(value: float | int | None, threshold: int = THRESHOLD, include_zero: bool = True) -> bool:
    """A count under the threshold (zero included unless include_zero is False)."""
    if value is None:
        return False
    return value < threshold and (include_zero or value != 0)


def _components(
    unknown: set[str], line_cells: dict[str, list[tuple[str, int]]]
) -> list[tuple[list[str], list[str]]]:
    """Connected groups of suppressed cells and the lines that join them."""
    parent = {c: c for c in unknown}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    active = []
    for line, members in line_cells.items():
        hidden = [c for c, _ in members if c in unknown]
        if not hidden:
            continue
        active.append(line)
        for c in hidden[1:]:
            a, b = find(hidden[0]), find(c)
            if a != b:
                parent[a] = b
    cells_by: dict[str, list[str]] = defaultdict(list)
    for c in sorted(unknown):
        cells_by[find(c)].append(c)
    lines_by: dict[str, list[str]] = defaultdict(list)
    for line in active:
        first = next(c for c, _ in line_cells[line] if c in unknown)
        lines_by[find(first)].append(line)
    return [(cells_by[root], lines_by.get(root, [])) for root in sorted(cells_by)]


def recoverable(unknown: set[str], line_cells: dict[str, list[tuple[str, int]]]) -> set[str]:
    """The suppressed cells whose value follows from the published cells and the lines."""
    out: set[str] = set()
    for cells, lines in _components(unknown, line_cells):
        if not lines:
            continue
        index = {c: i for i, c in enumerate(cells)}
        matrix = np.zeros((len(lines), len(cells)))
        for r, line in enumerate(lines):
            for c, coef in line_cells[line]:
                if c in index:
                    matrix[r, index[c]] += coef
        # x_j is determined iff e_j is in the row space iff its projection on the null space is zero
        _, s, vt = np.linalg.svd(matrix, full_matrices=True)
        rank = int((s > _EPS * max(1.0, s.max() if s.size else 1.0)).sum())
        null = vt[rank:]
        weight = (null**2).sum(axis=0) if null.size else np.zeros(len(cells))
        out.update(c for c, w in zip(cells, weight, strict=True) if w < 1e-8)
    return out


def protect(
    cells: pl.DataFrame,
    lines: pl.DataFrame,
) -> pl.DataFrame:
    """Choose the cells to suppress.

    cells: cell (String id), value (number), is_total (Boolean), primary (Boolean)
    lines: line (String id), cell (String), coef (Int64): sum over the line of
           coef x value is a published or externally known quantity (0 for a
           total line written with the total at coef -1).
    Returns cells with `suppressed` (Boolean) and `reason` ('primary',
    'complementary' or null).
    """
    values = dict(
        zip(cells["cell"].to_list(), cells["value"].cast(pl.Float64).fill_null(0).to_list(), strict=True)
    )
    totals = dict(zip(cells["cell"].to_list(), cells["is_total"].to_list(), strict=True))
    primary = {c for c, p in zip(cells["cell"].to_list(), cells["primary"].to_list(), strict=True) if p}
    line_cells: dict[str, list[tuple[str, int]]] = defaultdict(list)
    cell_lines: dict[str, list[str]] = defaultdict(list)
    for line, cell, coef in lines.select("line", "cell", "coef").iter_rows():
        if cell not in values:
            raise ValueError(f"line {line} names an unknown cell {cell}")
        line_cells[line].append((cell, int(coef)))
        cell_lines[cell].append(line)

    suppressed = set(primary)

    def cost(c: str) -> tuple:
        return (bool(totals[c]), abs(values[c]), c)

    def complement_for(c: str) -> str | None:
        options = [o for line in cell_lines[c] for o, _ in line_cells[line] if o not in suppressed]
        return min(options, key=cost) if options else None

    def single_pass() -> None:
        queue = sorted(line_cells)
        while queue:
            line = queue.pop()
            hidden = [c for c, _ in line_cells[line] if c in suppressed]
            if len(hidden) != 1:
                continue
            options = [c for c, _ in line_cells[line] if c not in suppressed]
            if not options:
                continue
            pick = min(options, key=cost)
            suppressed.add(pick)
            queue.extend(cell_lines[pick])

    single_pass()
    while True:
        exposed = sorted(recoverable(suppressed, line_cells))
        if not exposed:
            break
        added = False
        for c in exposed:
            pick = complement_for(c)
            if pick is not None and pick not in suppressed:
                suppressed.add(pick)
                added = True
        if not added:
            raise RuntimeError("suppression cannot protect every small cell: no complement left")
        single_pass()
    reason = [
        ("primary" if c in primary else "complementary") if c in suppressed else None for c in cells["cell"]
    ]
    return cells.with_columns(
        suppressed=pl.Series([c in suppressed for c in cells["cell"]], dtype=pl.Boolean),
        reason=pl.Series(reason, dtype=pl.String),
    )


def crosstab_cells(
    frame: pl.DataFrame,
    *,
    row: str,
    col: str,
    measures: Sequence[str],
    total_label: str = "合计",
    counts: Iterable[str] = (),
    primary_from: dict[str, str] | None = None,
    pairs: Iterable[tuple[str, str]] = (),
    threshold: int = THRESHOLD,
    include_zero: bool = True,
) -> pl.DataFrame:
    """Suppress a set of crosstabs that share rows and columns.

    frame: one row per (row, col) interior cell with an integer or money column
    per measure. For each measure the tables gain a total per row (over the
    columns), per column (over the rows) and a grand total, labelled
    `total_label`; the lines are "interior cells add up to their totals" both
    ways. `counts` are the measures suppressed for being under the threshold;
    `primary_from` maps a measure (money) to the count whose primary status it
    takes (that count must be a column of `frame`; it need not be published);
    `pairs` are measures bound by a relation with published figures of another
    edition (new and exits: closing − last closing = new − exits), so one of a
    pair is never shown alone where the other is hidden.

    Returns a long frame: row, col, measure, value, suppressed, reason, shown
    (the value as text, "<5" for a primary count, "×" for any other hidden cell).
    """
    counts = set(counts)
    primary_from = primary_from or {}
    needed = list(dict.fromkeys([*measures, *primary_from.values()]))
    base = frame.select(row, col, *needed).with_columns(
        pl.col(row).cast(pl.String), pl.col(col).cast(pl.String)
    )
    row_tot = (
        base.group_by(row).agg(pl.col(m).sum() for m in needed).with_columns(pl.lit(total_label).alias(col))
    )
    col_tot = (
        base.group_by(col).agg(pl.col(m).sum() for m in needed).with_columns(pl.lit(total_label).alias(row))
    )
    grand = base.select(pl.col(m).sum() for m in needed).with_columns(
        pl.lit(total_label).alias(row), pl.lit(total_label).alias(col)
    )
    full = pl.concat(
        [base, row_tot.select(base.columns), col_tot.select(base.columns), grand.select(base.columns)],
        how="vertical_relaxed",
    )
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
    published = long.filter(pl.col("measure").is_in(list(measures)))
    rows_all = published[row].unique().to_list()
    cols_all = published[col].unique().to_list()
    line_rows = []
    for m in measures:
        for r in rows_all:  # across the columns of a row
            line = f"{m}|row|{r}"
            for c in cols_all:
                line_rows.append((line, f"{m}|{r}|{c}", -1 if c == total_label else 1))
        for c in cols_all:  # down the rows of a column
            line = f"{m}|col|{c}"
            for r in rows_all:
                line_rows.append((line, f"{m}|{r}|{c}", -1 if r == total_label else 1))
    for a, b in pairs:
        for r in rows_all:
            for c in cols_all:
                line = f"pair|{a}|{b}|{r}|{c}"
                line_rows.append((line, f"{a}|{r}|{c}", 1))
                line_rows.append((line, f"{b}|{r}|{c}", -1))
    lines = pl.DataFrame(
        line_rows, schema={"line": pl.String, "cell": pl.String, "coef": pl.Int64}, orient="row"
    )
    chosen = protect(published.select("cell", "value", "is_total", "primary"), lines)
    mark = primary_mark(threshold)
    out = published.drop("primary").join(chosen.select("cell", "suppressed", "reason"), on="cell", how="left")
    return out.with_columns(
        shown=pl.when(~pl.col("suppressed"))
        .then(pl.col("value").cast(pl.String))
        .when((pl.col("reason") == "primary") & pl.col("measure").is_in(list(counts)))
        .then(pl.lit(mark))
        .otherwise(pl.lit(COMPLEMENT_MARK))
    ).select(row, col, "measure", "value", "suppressed", "reason", "shown")
