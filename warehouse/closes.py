"""What the warehouse knows of the monthly closes (SPEC §6): the go-live month."""

from __future__ import annotations

from datetime import date

import duckdb

from core.reference import Reference


def go_live_month(con: duckdb.DuckDBPyConnection, ref: Reference, period: date) -> date:
    """settings go_live_month, else the first month jiuzhu closed, else `period` (SPEC §4, §6)."""
    text = ref.setting("go_live_month")
    if text:
        y, m = text.split("-")
        return date(int(y), int(m), 1)
    first = con.execute("SELECT min(period) FROM pay.closes").fetchall()[0][0]
    return min(first, period) if first else period
