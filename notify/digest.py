"""Digest composition (SPEC §6 Notifications, §9 privacy): pure, no I/O.

A digest is the one message a town (or the district) gets from a run: what is
new for it, grouped by kind, in plain Chinese, plus the counts of what is still
open. Every ID- or account-like number that reaches the title or body is
masked (first 4 + last 4) through `transforms.identifiers`, and masked values
are set as Markdown code spans so that their asterisks are never read as
emphasis by a Markdown renderer (e-mail HTML, WeCom, the outbox file).

    digest = compose_digest("500110001", "古南街道", items, {"rejection": 4}, "入库", date(2026, 11, 29))
    digest.title  # 【救助】古南街道 2026-11-29 核对与审核提醒（新增 3 项）
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from transforms.identifiers import mask_members, scrub_text

DISTRICT_TAG = "district"
DEFAULT_MAX_LINES = 200

# kind -> (heading, where the full list is)
KINDS: dict[str, tuple[str, str]] = {
    "rejection": ("新退回", "退回文件"),
    "crosscheck_hit": ("核对异常", "核对报告"),
    "hold": ("暂停发放", "暂停发放清单"),
    "overdue": ("逾期事项", "系统待办"),
    "inspection": ("抽查结果", "抽查结果"),
    "other": ("其他事项", "系统待办"),
}

# A masked value as produced by `mask`: 4 characters, asterisks, 4 characters (or bare ****).
_MASKED = re.compile(r"(?<![0-9A-Za-z*`])([0-9A-Za-z]{4}\*+[0-9A-Za-z]{4}|\*{4})(?![0-9A-Za-z*`])")


@dataclass(frozen=True)
class DigestItem:
    """One new thing a town must look at.

    kind: rejection, crosscheck_hit, hold, overdue, inspection or other.
    member_id: the member's ID (or account) when the item is about one person;
    it is always masked on output. count: how many rows/hits the item stands for.
    """

    kind: str
    rule_id: str
    case_no: str | None
    message: str
    member_id: str | None = None
    count: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"digest item kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.count < 1:
            raise ValueError(f"digest item count must be at least 1, got {self.count}")


@dataclass(frozen=True)
class Digest:
    """A composed message: masked title and Markdown body, ready for apprise."""

    title: str
    body: str
    tag: str = ""
    item_count: int = 0
    as_of: date | None = None
    counts_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """Nothing new: SPEC §6 says no digest is sent then."""
        return self.item_count == 0

    def markdown(self) -> str:
        """The whole message as one Markdown document (what the outbox file holds)."""
        return f"# {self.title}\n\n{self.body}\n"


def _safe(text: object) -> str:
    """Free text from input or rules, made safe for a notification.

    ID- and account-like numbers are masked, line breaks folded, and the
    characters that Markdown or HTML would interpret as markup neutralised.
    """
    s = "" if text is None else str(text)
    s = " ".join(s.split())
    s = scrub_text(s)
    s = s.replace("<", "＜").replace(">", "＞").replace("`", "'")
    return s


def _code_spans(text: str) -> str:
    """Set masked values as Markdown code spans so renderers keep their asterisks."""
    return _MASKED.sub(lambda m: f"`{m.group(1)}`", text)


def _line(item: DigestItem, member: str | None) -> str:
    """One listed item; `member`: its member already masked."""
    parts = []
    if item.case_no:
        parts.append(f"案件 {_safe(item.case_no)}")
    if item.rule_id:
        parts.append(_safe(item.rule_id))
    if member:
        parts.append(f"成员 {member}")
    parts.append(_safe(item.message) or "（无说明）")
    text = "｜".join(parts)
    if item.count > 1:
        text += f"（共 {item.count} 处）"
    return "- " + _code_spans(text)


def _sort_key(item: DigestItem) -> tuple:
    return (item.case_no or "", item.rule_id or "", item.member_id or "", item.message)


def _open_label(key: str) -> str:
    return KINDS[key][0] if key in KINDS else _safe(key)


def compose_digest(
    town_code: str,
    town_name: str,
    items: Iterable[DigestItem],
    open_counts: Mapping[str, int],
    run_label: str,
    as_of: date,
    *,
    max_lines: int = DEFAULT_MAX_LINES,
) -> Digest:
    """The digest for one tag (a 9-digit town code, or `district`).

    Items are grouped by kind (in the order of KINDS) and sorted by case, rule
    and member inside a kind, so the same items always give the same text.
    At most `max_lines` item lines are listed in all; each kind that is cut
    ends with "……另有 N 项，详见<where>". `open_counts` maps a kind (or any
    label, e.g. a rule id) to the number of items still open; zero counts are
    left out.
    """
    items = list(items)
    grouped: dict[str, list[DigestItem]] = {k: [] for k in KINDS}
    for item in items:
        grouped[item.kind].append(item)
    n = len(items)

    name = _safe(town_name)
    title = scrub_text(f"【救助】{name} {as_of:%Y-%m-%d} 核对与审核提醒（新增 {n} 项）")

    who = name if town_code == DISTRICT_TAG else f"{name}（{_safe(town_code)}）"
    label = _safe(run_label)
    lines: list[str] = []
    if n:
        lines.append(f"{who}：本次{label}有 {n} 项新的事项需要处理，请及时核实办理。")
    else:
        lines.append(f"{who}：本次{label}没有新的事项。")

    budget = max(0, max_lines)
    sections = []
    for kind, (heading, where) in KINDS.items():
        group = sorted(grouped[kind], key=_sort_key)
        if group:
            shown = group[:budget]
            budget -= len(shown)
            sections.append((heading, where, group, shown))
    members = iter(mask_members([item.member_id for *_, shown in sections for item in shown]))
    for heading, where, group, shown in sections:
        lines += ["", f"## {heading}（{len(group)} 项）", ""]
        lines += [_line(item, next(members)) for item in shown]
        if len(group) > len(shown):
            lines.append(f"- ……另有 {len(group) - len(shown)} 项，详见{where}")

    lines += ["", "## 仍未处理", ""]
    ordered = [k for k in KINDS if k in open_counts] + sorted(k for k in open_counts if k not in KINDS)
    open_lines = [f"- {_open_label(k)}：{int(open_counts[k])} 项" for k in ordered if int(open_counts[k]) > 0]
    lines += open_lines or ["- 无"]
    lines += ["", "（本消息由救助数据系统自动发送；身份证号、银行账号只显示前 4 位和后 4 位。）"]

    body = _code_spans(scrub_text("\n".join(lines)))
    return Digest(
        title=title,
        body=body,
        tag=town_code,
        item_count=n,
        as_of=as_of,
        counts_by_kind={k: len(v) for k, v in grouped.items() if v},
    )
