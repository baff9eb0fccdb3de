"""Finding identity (SPEC §5): (rule_id, town_code, case_no, id_no, evidence key).

Re-running a rule finds the same finding instead of a new one, because the id
is a hash of exactly these five values. Writing findings is `checks.lifecycle`'s.
"""

from __future__ import annotations

import hashlib

import polars as pl

from warehouse.hashing import sha256_hex_expr


def finding_id(
    rule_id: str, town_code: str | None, case_no: str | None, id_no: str | None, evidence: str
) -> str:
    parts = [rule_id, town_code or "", case_no or "", id_no or "", evidence]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def account_key(account: str | None) -> str:
    """B01's evidence key: a hash of the account, never the account itself."""
    return "account:" + hashlib.sha256((account or "").encode()).hexdigest()[:16]


def finding_id_expr() -> pl.Expr:
    """Vectorised finding_id over columns rule_id, town_code, case_no, id_no, evidence_key."""
    return pl.concat_str(
        [pl.col(c).fill_null("") for c in ("rule_id", "town_code", "case_no", "id_no", "evidence_key")],
        separator="\x1f",
    ).pipe(sha256_hex_expr, 32)  # DuckDB's, three times a hashlib loop over these short texts


def collapse_findings(findings: pl.DataFrame) -> pl.DataFrame:
    """One row per finding identity: messages of the same identity joined with '；'."""
    return (
        findings.with_columns(finding_id=finding_id_expr())
        .group_by("finding_id", maintain_order=True)
        .agg(
            pl.exclude("message", "finding_id").first(),
            pl.col("message").unique(maintain_order=True).str.join("；"),
        )
    )
