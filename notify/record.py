"""Recording deliveries in the warehouse (`audit.notifications`, migration 0002).

One row per digest: which run, which tag, the (masked) title, how many items,
the delivery status, attempts, error and time, and the SHA-256 of the body.
The body is never stored. SQL uses bound parameters only.

    notification_id = record_delivery(con, run_id, digest, notifier.send(tag, digest))
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import duckdb

from notify.delivery import DELIVERED, DeliveryResult
from notify.digest import Digest
from transforms.identifiers import scrub_text

_INSERT = """
INSERT INTO audit.notifications
    (notification_id, run_id, tag, title, items, status, attempts, error, sent_at, body_sha256)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_LAST_DELIVERED = """
SELECT max(sent_at) FROM audit.notifications WHERE tag = ? AND status = ?
"""


def body_sha256(digest: Digest) -> str:
    return hashlib.sha256(digest.body.encode("utf-8")).hexdigest()


def record_delivery(
    con: duckdb.DuckDBPyConnection,
    run_id: str | None,
    digest: Digest,
    result: DeliveryResult,
) -> str:
    """Insert one row for a delivery attempt and return its notification_id."""
    notification_id = uuid.uuid4().hex
    con.execute(
        _INSERT,
        [
            notification_id,
            run_id,
            result.tag,
            scrub_text(digest.title),
            digest.item_count,
            result.status,
            result.attempts,
            scrub_text(result.error) if result.error else None,
            result.sent_at,
            body_sha256(digest),
        ],
    )
    return notification_id


def last_delivered_at(con: duckdb.DuckDBPyConnection, tag: str) -> datetime | None:
    """When `tag` last got a delivered digest (None if never): what is "new" starts after it."""
    rows = con.execute(_LAST_DELIVERED, [tag, DELIVERED]).fetchall()  # fetchall: DuckDB 2 (engineering notes)
    return rows[0][0] if rows else None
