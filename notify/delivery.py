"""Delivery of digests through apprise (SPEC §6 Notifications).

One code path serves every deployment: `Apprise.notify(tag=...)`.

* With `<home>/notify.yaml` (an apprise YAML configuration: URLs tagged with
  9-digit town codes and `district`), the file is first checked entry by entry
  (notify/config.py): a URL apprise cannot use is a `NotifyConfigError` naming
  its line, never a silently missing target. The apprise object is then loaded
  from it, and every town code or `district` that no entry carries gets the
  outbox below, so its digests are written as files instead of being dropped.
* Without it, the embedded default is an apprise object holding one
  `outbox://` URL per town code and one for `district`. `outbox://` is an
  apprise custom notification (registered here, once per process) that writes
  each message as a UTF-8 Markdown file into the folder named by its URL:
  `out/outbox/<tag>/<YYYYmmddTHHMMSS>-<seq>-<slug>.md`.

Retries are apprise's own per-service retries (`retry`/`wait` on the asset, so a
URL in notify.yaml may override them with `?retry=N&wait=S`): only the target
that failed is tried again, never one that already received the message.

`send` never raises: a town whose target fails gets `failed`, and the caller
goes on with the next town. A tag with no target at all (a tag that is neither
a town code nor `district`) is `no_target` (a warning, not a failure): apprise
reports it as the falsy status NOMATCH. Whether a failed digest is tried again
in a later run is the queue's business (notify/queue.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote

import apprise
from apprise import AppriseResultStatus, NotifyFormat

from core.home import Home, now_shanghai
from notify.config import check_notify_config
from notify.digest import DISTRICT_TAG, Digest
from transforms.identifiers import scrub_text

log = logging.getLogger("jiuzhu.notify")

OUTBOX_SCHEMA = "outbox"
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF_SECONDS = 2.0
ERROR_MAX_CHARS = 500

DELIVERED, NO_TARGET, FAILED = "delivered", "no_target", "failed"


# ---------------------------------------------------------------- the outbox


def outbox_url(folder: Path) -> str:
    """The `outbox://` URL that writes messages into `folder` (an absolute path)."""
    folder = Path(folder).resolve()
    return f"{OUTBOX_SCHEMA}://{quote(folder.as_posix())}"


def _outbox_folder(meta: dict) -> Path:
    # apprise parses outbox:///abs/path as host "abs" and fullpath "/path";
    # both come back still percent-encoded.
    host = unquote(meta.get("host") or "")
    rest = unquote(meta.get("fullpath") or "")
    if not host:
        raise ValueError("an outbox URL needs an absolute folder: outbox:///abs/path")
    return Path("/" + host + rest)


def _slug(title: str) -> str:
    slug = re.sub(r"[^\w-]+", "-", title, flags=re.UNICODE)
    slug = re.sub(r"-{2,}", "-", slug).strip("-_")
    return slug[:60].rstrip("-_") or "digest"


def write_outbox_message(folder: Path, title: str, body: str, now: datetime | None = None) -> Path:
    """Write one message as `<YYYYmmddTHHMMSS>-<seq>-<slug>.md` (seq from 001, never overwriting)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or now_shanghai()).strftime("%Y%m%dT%H%M%S")
    slug = _slug(title)
    seq = 1 + sum(1 for _ in folder.glob(f"{stamp}-*.md"))
    text = f"# {title}\n\n{body.rstrip()}\n" if title else f"{body.rstrip()}\n"
    while True:
        path = folder / f"{stamp}-{seq:03d}-{slug}.md"
        try:
            with path.open("x", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            return path
        except FileExistsError:
            seq += 1


def _outbox_send(body, title, notify_type, meta, *args, **kwargs):
    """The apprise custom notification behind `outbox://` (its folder comes from the URL)."""
    write_outbox_message(_outbox_folder(meta), title or "", body or "")
    return True


def register_outbox() -> None:
    """Register the `outbox://` custom notification with apprise, once per process.

    apprise keeps custom notifications in a process-wide registry and refuses
    (with a warning) a schema registered twice, so this checks first. The
    function holds no state: the folder comes from each URL.
    """
    from apprise.decorators import notify
    from apprise.manager_plugins import NotificationManager

    if OUTBOX_SCHEMA in NotificationManager():
        return
    notify(on=OUTBOX_SCHEMA, name="jiuzhu outbox")(_outbox_send)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one digest: delivered, no_target or failed (never an exception)."""

    tag: str
    status: str
    attempts: int
    error: str | None = None
    sent_at: datetime = field(default_factory=now_shanghai)
    targets: int = 0

    @property
    def ok(self) -> bool:
        return self.status == DELIVERED


def _error_text(result) -> str:
    parts = []
    for service in result:
        if service.status == AppriseResultStatus.SUCCESS:
            continue
        last = ""
        for entry in service.logs():
            if entry.level in ("WARNING", "ERROR", "CRITICAL"):
                last = entry.message
        parts.append(
            f"{service.name} {service.url}: {service.status.name} after {len(service)} attempt(s)"
            + (f" ({last})" if last else "")
        )
    text = f"{result.status.name}: " + "; ".join(parts) if parts else result.status.name
    return scrub_text(text)[:ERROR_MAX_CHARS]


# ---------------------------------------------------------------- the notifier


class Notifier:
    """Sends digests to the targets of a data home.

    attempts: tries per target (apprise retries a failed target attempts-1 times);
    backoff_seconds: the wait between tries (0 in tests);
    town_codes: the tags of the outbox default (default: the towns reference table).

    Raises `NotifyConfigError` (notify/config.py) when notify.yaml holds a URL
    apprise cannot use, naming its line.
    """

    def __init__(
        self,
        home: Home,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        town_codes: Iterable[str] | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.home = home
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._town_codes = list(town_codes) if town_codes is not None else None
        register_outbox()
        self.asset = apprise.AppriseAsset(
            default_service_retry=attempts - 1,
            default_service_wait=backoff_seconds,
        )
        self.source = "outbox"
        self.outbox_tags: list[str] = []  # the tags whose digests go to out/outbox/<tag>/
        self.apprise = self._load()

    # -- building the apprise object

    def _town_tags(self) -> list[str]:
        if self._town_codes is None:
            from core.reference import load_reference

            self._town_codes = load_reference(self.home.reference).town_codes
        return list(self._town_codes)

    def _load(self) -> apprise.Apprise:
        path = self.home.notify_yaml
        if not path.is_file():
            return self._outbox_default()
        check_notify_config(path)  # NotifyConfigError naming the line of a URL apprise cannot use
        config = apprise.AppriseConfig(asset=self.asset)
        config.add(str(path))
        obj = apprise.Apprise(asset=self.asset)
        obj.add(config)
        self.source = "yaml"
        configured = len(obj)
        covered = {str(tag) for service in obj for tag in service.tags}
        self.outbox_tags = [t for t in [*self._town_tags(), DISTRICT_TAG] if t not in covered]
        self._add_outbox(obj, self.outbox_tags)
        log.info("notifications: %d target(s) from %s", configured, path)
        if self.outbox_tags:
            log.warning(
                "notifications: %s has no target for %d tag(s) (%s); their digests are written to %s/<tag>/",
                path.name,
                len(self.outbox_tags),
                ", ".join(self.outbox_tags[:5]) + (", ..." if len(self.outbox_tags) > 5 else ""),
                self.home.outbox,
            )
        return obj

    def _add_outbox(self, obj: apprise.Apprise, tags: Iterable[str]) -> None:
        for tag in tags:
            if not obj.add(outbox_url(self.home.outbox / tag), tag=tag):
                raise RuntimeError(f"apprise refused the outbox URL for tag {tag}")

    def _outbox_default(self) -> apprise.Apprise:
        obj = apprise.Apprise(asset=self.asset)
        self.outbox_tags = [*self._town_tags(), DISTRICT_TAG]
        self._add_outbox(obj, self.outbox_tags)
        self.source = "outbox"
        return obj

    def targets(self) -> dict[str, int]:
        """tag -> number of configured targets (to check a notify.yaml)."""
        counts: dict[str, int] = {}
        for service in self.apprise:
            for tag in service.tags:
                counts[str(tag)] = counts.get(str(tag), 0) + 1
        return dict(sorted(counts.items()))

    # -- sending

    def send(self, tag: str, digest: Digest) -> DeliveryResult:
        """Send one digest to every target tagged `tag`. Never raises."""
        sent_at = now_shanghai()
        try:
            result = self.apprise.notify(
                body=digest.body,
                title=digest.title,
                tag=str(tag),
                body_format=NotifyFormat.MARKDOWN,
            )
        except Exception as exc:  # noqa: BLE001 - one town's failure must never stop the others
            error = scrub_text(f"{type(exc).__name__}: {exc}")[:ERROR_MAX_CHARS]
            log.error("notification to %s failed: %s", tag, error)
            return DeliveryResult(str(tag), FAILED, 1, error, sent_at)

        try:
            with result:  # releases apprise's temporary log storage
                return self._interpret(str(tag), result, sent_at)
        except Exception as exc:  # noqa: BLE001 - never raise on a notification
            error = scrub_text(f"{type(exc).__name__}: {exc}")[:ERROR_MAX_CHARS]
            log.error("notification to %s: unreadable apprise result: %s", tag, error)
            return DeliveryResult(str(tag), FAILED, 1, error, sent_at)

    @staticmethod
    def _interpret(tag: str, result, sent_at: datetime) -> DeliveryResult:
        """Map apprise's AppriseResult to our three statuses."""
        status = result.status
        attempts = max((len(service) for service in result), default=0)
        targets = len(result)
        if status == AppriseResultStatus.NOMATCH:
            log.warning("notification to %s: no target is configured for this tag; nothing sent", tag)
            return DeliveryResult(tag, NO_TARGET, 0, None, sent_at, 0)
        if status == AppriseResultStatus.SUCCESS:
            log.info("notification to %s delivered to %d target(s)", tag, targets)
            return DeliveryResult(tag, DELIVERED, attempts, None, sent_at, targets)
        error = _error_text(result)
        if status == AppriseResultStatus.PARTIAL:
            # at least one target has it: re-sending would duplicate it there
            log.warning("notification to %s reached only some targets: %s", tag, error)
            return DeliveryResult(tag, DELIVERED, attempts, error, sent_at, targets)
        log.error("notification to %s failed: %s", tag, error)
        return DeliveryResult(tag, FAILED, attempts, error, sent_at, targets)

    def send_all(self, digests: Iterable[Digest]) -> list[DeliveryResult]:
        """Send each non-empty digest to its own tag; a failure never stops the others."""
        return [self.send(d.tag, d) for d in digests if not d.is_empty]
