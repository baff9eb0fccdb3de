"""Money (ENGINEERING: integer fen or Decimal, never float).

Inside transforms money is integer fen (Int64): exact, fast, and free of
float rounding. Decimal(12,2) yuan is what the warehouse and files show.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import polars as pl

from transforms.text import fold_fullwidth, fold_fullwidth_expr

FEN = Decimal("0.01")


def yuan_to_fen(value: Decimal | int | str) -> int:
    """Exact yuan (Decimal, int or text) to integer fen, half-up at the fen."""
    amount = Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)
    return int(amount * 100)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def fen_to_text(fen: int) -> str:
    """'1234.50' — the two-decimal string of manifests and digests."""
    return f"{fen_to_yuan(fen):.2f}"


def parse_yuan_text(text: str | None) -> int | None:
    """Text as towns type it ('1,234.5', '１２３', ' 80 元') to fen; None when unreadable."""
    if text is None:
        return None
    cleaned = fold_fullwidth(text).strip().replace(",", "").replace("，", "").replace("元", "").replace("¥", "")
    if cleaned == "":
        return None
    try:
        return yuan_to_fen(Decimal(cleaned))
    except (InvalidOperation, ValueError):
        return None


def yuan_text_to_fen_expr(text: pl.Expr) -> pl.Expr:
    """Vectorised parse of yuan text to fen (null when unreadable; half-up at the fen)."""
    cleaned = fold_fullwidth_expr(text).str.replace_all(r"[,，元¥\s]", "")
    ok = cleaned.str.contains(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")  # \d would match any Unicode digit
    sign = pl.when(cleaned.str.starts_with("-")).then(-1).otherwise(1)
    body = cleaned.str.replace(r"^[+-]", "")
    whole = body.str.extract(r"^([0-9]*)", 1).replace("", "0").cast(pl.Int64, strict=False)
    frac = (body.str.extract(r"\.([0-9]*)$", 1).fill_null("") + "000").str.slice(0, 3).cast(pl.Int64)
    fen = whole * 100 + (frac + 5) // 10  # third decimal rounds half-up at the fen
    return pl.when(ok).then(sign * fen).otherwise(None)


def fen_to_decimal_expr(fen: pl.Expr, precision: int = 12) -> pl.Expr:
    """Integer fen to Decimal(precision, 2) yuan: 12 for one case's amounts, 14 for totals
    (a municipality's monthly total passes 10^10 yuan)."""
    wide = pl.Decimal(precision + 6, 2)
    return (fen.cast(wide) * pl.lit("0.01").cast(wide)).cast(pl.Decimal(precision, 2))
