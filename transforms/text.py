"""Text normalisation shared by every reader of town input."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

# full-width ASCII block (U+FF01..U+FF5E) -> ASCII, ideographic space -> space
_FULLWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
_TABLE = str.maketrans(_FULLWIDTH)


def fold_fullwidth(text: str | None) -> str | None:
    return None if text is None else text.translate(_TABLE)


_FULLWIDTH_FROM, _FULLWIDTH_TO = list(_FULLWIDTH), list(_FULLWIDTH.values())


def fold_fullwidth_expr(text: pl.Expr) -> pl.Expr:
    """Full-width digits, letters and punctuation to ASCII: `fold_fullwidth` in Polars itself.
    (A Python function over each batch made every expression around it slow to run: a date
    parse took 10 ms on five cells, 2.6 ms without it; docs/engineering-notes.md.)"""
    return text.cast(pl.String).str.replace_many(_FULLWIDTH_FROM, _FULLWIDTH_TO)


def clean_text_expr(text: pl.Expr) -> pl.Expr:
    """Fold full-width, trim spaces (incl. non-breaking), empty -> null."""
    folded = fold_fullwidth_expr(text).str.replace_all("\u00a0", " ").str.strip_chars()
    return pl.when(folded == "").then(None).otherwise(folded)


def apply_where(raw: pl.Series, needs: pl.Series, build: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """Apply a text expression only to the rows that need it (most cells are clean), keeping order."""
    needs = needs.fill_null(False)
    if not needs.any():
        return raw
    idx = needs.arg_true()
    fixed = pl.DataFrame({"v": raw.gather(idx)}).select(build(pl.col("v")).cast(pl.String).alias("v"))["v"]
    return raw.clone().scatter(idx, fixed)


# ---------------------------------------------------------------- CSV for people (formula injection)

# Excel and other spreadsheets evaluate a CSV cell that starts with one of these, quoted or not
# (OWASP, CSV injection): =HYPERLINK(...), +cmd|..., -2+3, @SUM(...), and a leading tab or CR.
FORMULA_LEADERS = "=+-@\t\r"
FORMULA_START = r"^[=+\-@\t\r]"  # the regex, for checks that add their own (control characters ...)
CONTROL_CHARACTER = r"[\x00-\x08\x0a-\x0c\x0e-\x1f\x7f]"  # a control character other than TAB and CR
# SPEC §5 V03 and the bank line's second guard: starts like a formula, or holds a control character
FORMULA_LIKE = FORMULA_START + "|" + CONTROL_CHARACTER + r"|[\t\r]"


def starts_like_formula_expr(text: pl.Expr) -> pl.Expr:
    """True where a text cell starts with = + - @ TAB or CR (null stays null)."""
    return text.cast(pl.String).str.contains(FORMULA_START)


def neutralise_formula_expr(text: pl.Expr) -> pl.Expr:
    """OWASP's advice for CSV written for people: a text cell that starts like a formula gets a
    leading single quote, so a spreadsheet shows it as text ("'=HYPERLINK(...)"); every other
    cell is unchanged. Never for a file a machine matches byte for byte (the bank batch holds
    such a line instead of altering it)."""
    return text.cast(pl.String).str.replace("^(" + FORMULA_START[1:] + ")", "'$1")


def neutralise_csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """`neutralise_formula_expr` on every text column of a frame about to be written as CSV
    (numbers, dates and amounts are not text and are left alone)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(neutralise_formula_expr(pl.col(name)).alias(name) for name in text)
