"""SHA-256 and HMAC-SHA256 over whole Polars columns, computed by DuckDB.

A hashlib loop costs about 0.7 µs a short text in Python; DuckDB hashes the same column on
every core without a Python call per value: the findings' ids 3× faster, the analyst copy's
pseudonyms 2× (docs/engineering-notes.md, session 8). Identical bytes in, identical digests
out: DuckDB's sha256() of a VARCHAR hashes its UTF-8 bytes, and the HMAC is built from the
pads of `transforms.identifiers.hmac_pads`, so every digest equals the plain-Python one
(`transforms.identifiers.keyed_hash`, `hashlib`); the tests compare them. For long texts
(a case's whole content) hashlib is faster, and `transforms.versions` keeps it.

Here and not in transforms/, which stays free of DuckDB (the import contract in pyproject.toml).
"""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.identifiers import KEYED_HASH_CHARS, hmac_pads
from warehouse.sqlfiles import sql

_hashing: duckdb.DuckDBPyConnection | None = None
DISTINCT_SHARE = 0.8  # with `distinct`, hash the distinct values only when they are at most this share of all


def _hash_in_duckdb(series: pl.Series, statement: str, params: dict, *, distinct: bool = False) -> pl.Series:
    """`statement` (one of warehouse/sql/hashing/, over the text column v of hash_input) for each value of
    `series`; null stays null. With `distinct` (a column that repeats its values, such as a case's key on
    each of its members' rows), each distinct value is hashed once and joined back."""
    global _hashing
    if series.is_empty() or series.null_count() == series.len():
        return pl.Series(series.name, [None] * series.len(), dtype=pl.String)
    if distinct:
        values = series.cast(pl.String).rename("v")
        unique = values.unique()
        if unique.len() <= DISTINCT_SHARE * values.len():
            digests = _hash_in_duckdb(unique, statement, params).rename("h")
            looked_up = values.to_frame().join(pl.DataFrame([unique, digests]), on="v", how="left",
                                                nulls_equal=True, maintain_order="left")
            return looked_up["h"].rename(series.name)
    if _hashing is None:
        _hashing = duckdb.connect(":memory:")
    con = _hashing.cursor()  # a cursor per call: Polars may call from several threads
    try:
        con.register("hash_input", series.cast(pl.String).rename("v").to_frame().to_arrow())
        return con.sql(sql(statement), params=params).pl()["h"].rename(series.name)
    finally:
        con.close()


def sha256_hex_expr(value: pl.Expr, chars: int = 64, prefix: bytes = b"") -> pl.Expr:
    """`hashlib.sha256(prefix + text.encode()).hexdigest()[:chars]` of each text (null stays null)."""
    params = {"prefix": prefix, "chars": chars}
    return value.map_batches(lambda s: _hash_in_duckdb(s, "hashing/sha256", params), return_dtype=pl.String)


def keyed_hash_expr(value: pl.Expr, key: bytes) -> pl.Expr:
    """`transforms.identifiers.keyed_hash` over a column: a key that embeds an identifier (a version
    id, a finding id, a case number) becomes a pseudonym that still joins, and that nobody without
    the key can recompute from a guessed ID."""
    if not key:
        raise ValueError("a keyed hash needs a key")
    inner, outer = hmac_pads(key)
    params = {"inner": inner, "outer": outer, "chars": KEYED_HASH_CHARS}
    return value.cast(pl.String).map_batches(
        lambda s: _hash_in_duckdb(s, "hashing/hmac_sha256", params, distinct=True), return_dtype=pl.String
    )
