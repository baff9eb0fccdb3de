"""Notifications (SPEC §6): masked digests per town and for the district, sent through apprise.

from notify import DigestItem, Notifier, compose_digest, record_delivery

digest = compose_digest(code, name, items, open_counts, "入库", as_of)
result = Notifier(home).send(code, digest)        # delivered | no_target | failed, never raises
record_delivery(con, run_id, digest, result)      # audit.notifications (no body stored)

Flows do not send themselves: they call `notify.queue.notify_or_queue`, which
queues their items durably in the warehouse and sends them until delivered
(notify/queue.py). `check_notify_config(home.notify_yaml)` checks notify.yaml
at the start of a run: a URL apprise cannot use is a `NotifyConfigError`
naming its line.
"""

from notify.config import ConfiguredTarget, NotifyConfigError, check_notify_config
from notify.delivery import (
    DELIVERED,
    FAILED,
    NO_TARGET,
    DeliveryResult,
    Notifier,
    outbox_url,
    register_outbox,
    write_outbox_message,
)
from notify.digest import DISTRICT_TAG, KINDS, RESENT_HEADING, Digest, DigestItem, compose_digest
from notify.record import body_sha256, last_delivered_at, record_delivery
from transforms.identifiers import mask_member

__all__ = [
    "DELIVERED",
    "DISTRICT_TAG",
    "FAILED",
    "KINDS",
    "NO_TARGET",
    "RESENT_HEADING",
    "ConfiguredTarget",
    "DeliveryResult",
    "Digest",
    "DigestItem",
    "Notifier",
    "NotifyConfigError",
    "body_sha256",
    "check_notify_config",
    "compose_digest",
    "last_delivered_at",
    "mask_member",
    "outbox_url",
    "record_delivery",
    "register_outbox",
    "write_outbox_message",
]
