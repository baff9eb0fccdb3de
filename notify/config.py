"""Checking `<home>/notify.yaml` before anything is sent (SPEC §6; issue 14 item 6).

apprise skips a URL it cannot parse with a log line and carries on, so a typo
in notify.yaml used to leave a town silently without a target. Here every URL
entry is read on its own, with the line it stands on, and handed to apprise's
own YAML parser; an entry that yields no usable target (an unknown service, an
address apprise cannot read) is a `NotifyConfigError` naming the file and the
line. So is a file that is not YAML, or not an apprise YAML configuration.

A tag that no entry carries is not an error: its digests go to the outbox
(`out/outbox/<tag>/`, see notify/delivery.py), as without notify.yaml.

Messages never repeat a URL (it may hold a password or a webhook key): they
name the line and the service.

    targets = check_notify_config(home.notify_yaml)   # [(line, schema, tags), ...]; raises NotifyConfigError
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import apprise
import yaml
from apprise.config.base import ConfigBase

_SCHEMA = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://")


class NotifyConfigError(ValueError):
    """notify.yaml cannot be used as it is; the message names the file and the line."""


@dataclass(frozen=True)
class ConfiguredTarget:
    line: int  # 1-based line of notify.yaml the URL stands on
    schema: str
    tags: frozenset[str]


def _has_service(schema: str) -> bool:
    from apprise.manager_plugins import NotificationManager

    from notify.delivery import register_outbox

    register_outbox()
    return schema in NotificationManager()


def _url_of(node: yaml.Node) -> tuple[str | None, yaml.Node]:
    """The URL text of one entry of `urls:` (a string, or the key of a one-URL mapping) and its node."""
    if isinstance(node, yaml.ScalarNode):
        return str(node.value), node
    if isinstance(node, yaml.MappingNode):
        for key, _value in node.value:
            if isinstance(key, yaml.ScalarNode) and _SCHEMA.match(str(key.value)):
                return str(key.value), key
    return None, node


def _expected_targets(entry: object) -> int:
    """How many targets apprise makes of one entry: one, or one per item of a list under the URL."""
    if isinstance(entry, dict):
        for key, value in entry.items():
            if isinstance(key, str) and _SCHEMA.match(key) and isinstance(value, list) and value:
                return len(value)
    return 1


def check_notify_config(path: Path) -> list[ConfiguredTarget]:
    """Every URL of notify.yaml, checked; raises NotifyConfigError on the first one apprise cannot use."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise NotifyConfigError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise NotifyConfigError(f"{name}{where}: not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise NotifyConfigError(f"{name}: not valid YAML ({type(exc).__name__})") from None
    if root is None or data is None:
        return []  # an empty file: no targets, everything goes to the outbox
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise NotifyConfigError(
            f"{name} line {root.start_mark.line + 1}: an apprise YAML configuration is a mapping with `urls:`"
        )
    if data.get("version", 1) != 1:
        raise NotifyConfigError(f"{name}: apprise reads only `version: 1`")
    urls_node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "urls"), None)
    urls = data.get("urls")
    if urls_node is None or urls is None:
        return []
    if not isinstance(urls_node, yaml.SequenceNode) or not isinstance(urls, list):
        raise NotifyConfigError(f"{name} line {urls_node.start_mark.line + 1}: `urls:` must be a list")

    rest = {k: v for k, v in data.items() if k != "urls"}  # global tags, groups, asset: as apprise reads them
    found = []
    for node, entry in zip(urls_node.value, urls, strict=True):
        url, at = _url_of(node)
        line = at.start_mark.line + 1
        if url is None:
            raise NotifyConfigError(f"{name} line {line}: this entry of `urls:` holds no URL (service://...)")
        match = _SCHEMA.match(url)
        if match is None:
            raise NotifyConfigError(f"{name} line {line}: not a URL (service://...)")
        schema = match.group(1).lower()
        if not _has_service(schema):
            raise NotifyConfigError(f"{name} line {line}: apprise has no service {schema}://")
        single = yaml.safe_dump({**rest, "urls": [entry]}, allow_unicode=True)
        with apprise.LogCapture(level=apprise.logging.ERROR) as errors:
            services, _ = ConfigBase.config_parse_yaml(single, asset=apprise.AppriseAsset())
        if len(services) < _expected_targets(entry) or errors.getvalue().strip():
            raise NotifyConfigError(
                f"{name} line {line}: apprise cannot use this {schema}:// URL "
                "(check its address, port and required parameters)"
            )
        tags = frozenset(str(t) for s in services for t in s.tags)
        found.append(ConfiguredTarget(line, schema, tags))
    return found
