"""Digest composition (SPEC §6 Notifications, §9 privacy): pure, no I/O.

A digest is the one message a town (or the district) gets from a run: what is
new for it, grouped by kind, in plain Chinese, plus the counts of what is still
open. Every ID- or account-like number that reaches the title or body is
masked (first 4 + last 4) through `transforms.identifiers`, and masked values
are set as Markdown code spans so that their asterisks are never read as
emphasis by a Markdown renderer (e-mail HTML, WeCom, the outbox file).

    digest = compose_digest("500110001", "古南街道", items, {"rejection": 4}, "入库", date(2026, 11, 29))
    digest.title  # 【救助】古南街道 2026-11-29 核对与审核提醒（新增 3 项）

Items an earlier digest failed to deliver ride along in a section of their
own, "以下为上次未送达的提醒，再次发送" (`resent=`); the district's digest
may list the items given up after the last attempt (`given_up=`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl

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


RESENT_HEADING = "以下为上次未送达的提醒，再次发送"
GIVEN_UP_HEADING = "多次发送仍未送达、已停止发送的提醒"


@dataclass(frozen=True)
class Digest:
    """A composed message: masked title and Markdown body, ready for apprise.

    item_count: the items it carries (new and re-sent); resent_count: of which
    re-sent; given_up_count: items of other tags reported as given up."""

    title: str
    body: str
    tag: str = ""
    item_count: int = 0
    as_of: date | None = None
    counts_by_kind: dict[str, int] = field(default_factory=dict)
    resent_count: int = 0
    given_up_count: int = 0

    @property
    def is_empty(self) -> bool:
        """Nothing to tell: SPEC §6 says no digest is sent then."""
        return self.item_count == 0 and self.given_up_count == 0

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
    """Masked values with full-width asterisks (＊), which no Markdown renderer reads as emphasis and
    which stay inline when a mail's HTML is turned into its plain-text part (a code span there
    put each masked ID on a line of its own)."""
    return _MASKED.sub(lambda m: m.group(1).replace("*", "＊"), text)


_RULE_ID = re.compile(r"^[PVXMSB][0-9]{2}(、[PVXMSB][0-9]{2})*$")


def _line(item: DigestItem, member: str | None) -> str:
    """One listed item; `member`: its member already masked."""
    parts = []
    case = _safe(item.case_no) if item.case_no else ""
    if case:
        parts.append(f"案件 {case}")
    rule = _safe(item.rule_id) if item.rule_id and _RULE_ID.match(item.rule_id) else ""
    if rule:  # a rule id, not a kind's own code (HOLD, RECOVER: the heading says it)
        parts.append(rule)
    if member:
        parts.append(f"成员 {member}")
    message = _safe(item.message)
    for said in (f"{rule}：" if rule else None, f"案件{case}：" if case else None):  # never said twice
        if said and message.startswith(said):
            message = message[len(said):]
    parts.append(message or "（无说明）")
    text = "｜".join(parts)
    if item.count > 1:
        text += f"（共 {item.count} 处）"
    return "- " + _code_spans(text)


def _sort_key(item: DigestItem) -> tuple:
    return (item.case_no or "", item.rule_id or "", item.member_id or "", item.message)


def _open_label(key: str) -> str:
    return KINDS[key][0] if key in KINDS else _safe(key)


# the columns of an item frame (what the notification queue holds): DigestItem's fields, member and n
ITEM_FRAME_COLUMNS = ("kind", "rule_id", "case_no", "message", "member", "n")


@dataclass(frozen=True)
class _Group:
    """The items of one kind: how many, and the first `k` of them in `_sort_key` order on demand
    (a frame of a million items becomes DigestItems only for the lines a digest lists)."""

    kind: str
    heading: str
    where: str
    total: int
    head: Callable[[int], list[DigestItem]]


def items_of(frame: pl.DataFrame) -> list[DigestItem]:
    """The DigestItems of a frame of ITEM_FRAME_COLUMNS."""
    columns = (frame[c].to_list() for c in ITEM_FRAME_COLUMNS)
    return [DigestItem(kind, rule, case, message, member_id=member, count=n)
            for kind, rule, case, message, member, n in zip(*columns, strict=True)]


def _frame_head(frame: pl.DataFrame) -> Callable[[int], list[DigestItem]]:
    """`_sort_key` order in Polars (stable, like `sorted`; UTF-8 bytes order as code points do)."""
    keys = [pl.col(c).fill_null("") for c in ("case_no", "rule_id", "member", "message")]
    return lambda k: items_of(frame.sort(keys, maintain_order=True).head(k)) if k > 0 else []


def _grouped(items: list[DigestItem] | pl.DataFrame) -> list[_Group]:
    """The kinds that have items, in the order of KINDS, each sorted by `_sort_key`."""
    out = []
    if isinstance(items, pl.DataFrame) and (unknown := set(items["kind"].unique().to_list()) - set(KINDS)):
        raise ValueError(f"digest item kind must be one of {', '.join(KINDS)}, got {sorted(map(str, unknown))}")
    for kind, (heading, where) in KINDS.items():
        if isinstance(items, pl.DataFrame):
            frame = items.filter(pl.col("kind") == kind)
            if frame.height:
                out.append(_Group(kind, heading, where, frame.height, _frame_head(frame)))
            continue
        group = sorted((i for i in items if i.kind == kind), key=_sort_key)
        if group:
            out.append(_Group(kind, heading, where, len(group), lambda k, g=group: g[:k]))
    return out


def _listed(items: Iterable[DigestItem] | pl.DataFrame) -> list[DigestItem] | pl.DataFrame:
    return items if isinstance(items, pl.DataFrame) else list(items)


def compose_digest(
    town_code: str,
    town_name: str,
    items: Iterable[DigestItem] | pl.DataFrame,
    open_counts: Mapping[str, int],
    run_label: str,
    as_of: date,
    *,
    max_lines: int = DEFAULT_MAX_LINES,
    resent: Iterable[DigestItem] | pl.DataFrame = (),
    given_up: Mapping[str, Iterable[DigestItem]] | None = None,
    max_attempts: int | None = None,
) -> Digest:
    """The digest for one tag (a 9-digit town code, or `district`).

    Items are grouped by kind (in the order of KINDS) and sorted by case, rule
    and member inside a kind, so the same items always give the same text.
    At most `max_lines` item lines are listed in all; each kind that is cut
    ends with "……另有 N 项，详见<where>". `open_counts` maps a kind (or any
    label, e.g. a rule id) to the number of items still open; zero counts are
    left out.

    resent: items an earlier digest did not deliver, listed after the new ones
    under "以下为上次未送达的提醒，再次发送". given_up: for the district, the
    items of each town (keyed by its label, e.g. 古南街道（500110001）) that
    were given up after `max_attempts` attempts.
    """
    new, again = _grouped(_listed(items)), _grouped(_listed(resent))
    given = {label: sorted(v, key=_sort_key) for label, v in sorted((given_up or {}).items()) if v}
    n, r = sum(group.total for group in new), sum(group.total for group in again)
    g = sum(len(v) for v in given.values())

    name = _safe(town_name)
    counts = f"新增 {n} 项" + (f"，再次发送 {r} 项" if r else "") + (f"，{g} 项未能送达" if g else "")
    title = scrub_text(f"【救助】{name} {as_of:%Y-%m-%d} 核对与审核提醒（{counts}）")

    who = name if town_code == DISTRICT_TAG else f"{name}（{_safe(town_code)}）"
    label = _safe(run_label)
    lines: list[str] = []
    if n:
        lines.append(f"{who}：本次{label}有 {n} 项新的事项需要处理，请及时核实办理。")
    elif r:
        lines.append(f"{who}：本次{label}没有新的事项；此前未能送达的 {r} 项提醒再次发送，请及时核实办理。")
    else:
        lines.append(f"{who}：本次{label}没有新的事项。")

    budget = max(0, max_lines)
    blocks: list[tuple[str, list[tuple[str, str, int, list[DigestItem]]]]] = []

    def take(groups: list[_Group]) -> list:
        nonlocal budget
        out = []
        for group in groups:
            shown = group.head(budget)
            budget -= len(shown)
            out.append((group.heading, group.where, group.total, shown))
        return out

    blocks.append(("", take(new)))
    if r:
        blocks.append((f"## {RESENT_HEADING}（{r} 项）", take(again)))
    if g:
        blocks.append(
            (
                f"## {GIVEN_UP_HEADING}（{g} 项）",
                take([_Group("", _safe(label), "系统待办", len(v), lambda k, v=v: v[:k]) for label, v in given.items()]),
            )
        )
    shown_items = [item for _, sections in blocks for *_, shown in sections for item in shown]
    members = iter(mask_members([item.member_id for item in shown_items]))
    for title_line, sections in blocks:
        level = "###" if title_line else "##"
        if title_line:
            lines += ["", title_line]
            if title_line.startswith(f"## {GIVEN_UP_HEADING}"):
                tries = f"已尝试 {max_attempts} 次" if max_attempts else "多次发送"
                lines += [
                    "",
                    f"以下提醒{tries}仍未送达有关镇街，已停止自动发送。请另行告知，并检查 notify.yaml 中的地址。",
                ]
        for heading, where, total, shown in sections:
            lines += ["", f"{level} {heading}（{total} 项）", ""]
            lines += [_line(item, next(members)) for item in shown]
            if total > len(shown):
                lines.append(f"- ……另有 {total - len(shown)} 项，详见{where}")

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
        item_count=n + r,
        as_of=as_of,
        counts_by_kind={k: c for k in KINDS if (c := sum(g.total for g in new + again if g.kind == k))},
        resent_count=r,
        given_up_count=g,
    )
