"""`report.html`: the monthly statistics as one self-contained page (SPEC §6).

The charts are hand-written inline SVG: no chart library, no script or style
from the network, no fonts to download. The page opens offline in any
browser and renders the same with scripting off; a few lines of inline script
only record each chart's rendered size (data-rendered="WxH") for the browser
test. Figures come from the marts (warehouse.mart.ReportData), never from
personal data.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import polars as pl

from core.home import Home
from publish.files import write_text
from publish.report_xlsx import (
    BUREAU,
    DEFINITIONS,
    TITLE,
    budget_table,
    district_row,
    period_frame,
    report_dir,
    rule_table,
)
from warehouse.mart import ReportData

PALETTE = ("#2F5597", "#ED7D31", "#70AD47", "#FFC000", "#5B9BD5", "#A5A5A5", "#C00000", "#7030A0")
FONT = "'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif"

Series = tuple[str, Sequence[float | None]]


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def short_number(value: float) -> str:
    """Axis labels: 12,345 / 1.2万 / 3.4亿."""
    v = abs(value)
    sign = "-" if value < 0 else ""
    if v >= 1e8:
        return f"{sign}{v / 1e8:.1f}亿".replace(".0亿", "亿")
    if v >= 1e4:
        return f"{sign}{v / 1e4:.1f}万".replace(".0万", "万")
    if v == int(v):
        return f"{sign}{int(v):,}"
    return f"{sign}{v:,.1f}"


def percent(value: float) -> str:
    return f"{value * 100:.1f}%".replace(".0%", "%")


def grouped(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (low is 0 for counts and money)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


class Frame:
    """A plotting area with a y axis, x categories and a legend."""

    def __init__(
        self, width: int, height: int, left: int = 64, right: int = 16, top: int = 16, bottom: int = 56
    ):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.parts: list[str] = []

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def y_axis(self, ticks: list[float], fmt: Callable[[float], str]) -> Callable[[float], float]:
        lo, hi = ticks[0], ticks[-1]

        def y(v: float) -> float:
            return self.top + self.plot_h * (1 - (v - lo) / (hi - lo))

        for t in ticks:
            yy = y(t)
            self.parts.append(
                f'<line x1="{self.left}" y1="{yy:.1f}" x2="{self.width - self.right}" y2="{yy:.1f}" '
                f'stroke="#E5E5E5"/>'
            )
            self.parts.append(
                f'<text x="{self.left - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="11" '
                f'fill="#555">{esc(fmt(t))}</text>'
            )
        self.parts.append(
            f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{self.top + self.plot_h}" '
            f'stroke="#999"/>'
        )
        return y

    def x_labels(self, labels: Sequence[str], centers: Sequence[float]) -> None:
        base = self.top + self.plot_h
        self.parts.append(
            f'<line x1="{self.left}" y1="{base}" x2="{self.width - self.right}" y2="{base}" stroke="#999"/>'
        )
        for label, x in zip(labels, centers, strict=True):
            self.parts.append(
                f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" font-size="11" '
                f'fill="#555">{esc(label)}</text>'
            )

    def legend(self, names: Sequence[str], dashed: set[str] = frozenset()) -> None:
        x = self.left
        y = self.height - 14
        for i, name in enumerate(names):
            color = PALETTE[i % len(PALETTE)]
            dash = ' stroke-dasharray="5,3"' if name in dashed else ""
            self.parts.append(
                f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" stroke="{color}" '
                f'stroke-width="3"{dash}/>'
            )
            self.parts.append(f'<text x="{x + 22}" y="{y}" font-size="12" fill="#333">{esc(name)}</text>')
            x += 34 + 13 * len(name)

    def svg(self, label: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" role="img" aria-label="{esc(label)}" '
            f'font-family="{esc(FONT)}">' + "".join(self.parts) + "</svg>"
        )


def figure(chart_id: str, title: str, svg: str, note: str = "") -> str:
    extra = f'<p class="note">{esc(note)}</p>' if note else ""
    return (
        f'<figure class="chart" id="{esc(chart_id)}"><figcaption>{esc(title)}</figcaption>{svg}{extra}'
        "</figure>"
    )


def line_chart(
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str] = short_number,
    dashed: set[str] = frozenset(),
    width: int = 560,
    height: int = 300,
    note: str = "",
) -> str:
    f = Frame(width, height)
    values = [v for _, vs in series for v in vs if v is not None]
    hi = max(values, default=1.0)
    y = f.y_axis(nice_ticks(0, hi if hi > 0 else 1), fmt)
    n = max(1, len(x_labels))
    step = f.plot_w / n
    centers = [f.left + step * (i + 0.5) for i in range(n)]
    f.x_labels(x_labels, centers)
    for i, (name, vs) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        points = [(x, y(v)) for x, v in zip(centers, vs, strict=True) if v is not None]
        dash = ' stroke-dasharray="6,4"' if name in dashed else ""
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in points)
            f.parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2.5"{dash} points="{path}"/>'
            )
        for (x, yy), label, v in zip(points, x_labels, [v for v in vs if v is not None], strict=False):
            f.parts.append(
                f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3.5" fill="{color}"><title>{esc(name)} '
                f"{esc(label)}：{esc(fmt(v))}</title></circle>"
            )
    if not values:
        f.parts.append(
            f'<text x="{f.left + f.plot_w / 2:.1f}" y="{f.top + f.plot_h / 2:.1f}" text-anchor="middle" '
            'font-size="13" fill="#999">本期无数据</text>'
        )
    f.legend([name for name, _ in series], dashed)
    return figure(chart_id, title, f.svg(title), note)


def bar_chart(
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str] = short_number,
    width: int = 560,
    height: int = 300,
    note: str = "",
) -> str:
    """Stacked vertical bars, one per x label."""
    f = Frame(width, height)
    totals = [sum((vs[i] or 0) for _, vs in series) for i in range(len(x_labels))]
    y = f.y_axis(nice_ticks(0, max(totals, default=1) or 1), fmt)
    n = max(1, len(x_labels))
    step = f.plot_w / n
    bar = step * 0.62
    centers = [f.left + step * (i + 0.5) for i in range(n)]
    f.x_labels(x_labels, centers)
    for i, x in enumerate(centers):
        base = 0.0
        for k, (name, vs) in enumerate(series):
            v = vs[i] or 0
            if v <= 0:
                continue
            top, bottom = y(base + v), y(base)
            f.parts.append(
                f'<rect x="{x - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{bottom - top:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{esc(name)} {esc(x_labels[i])}：'
                f"{esc(fmt(v))}</title></rect>"
            )
            base += v
    f.legend([name for name, _ in series])
    return figure(chart_id, title, f.svg(title), note)


def hbar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str] = short_number,
    width: int = 1140,
    note: str = "",
) -> str:
    """Stacked horizontal bars, one per category (towns)."""
    row = 22
    f = Frame(width, 16 + row * len(categories) + 60, left=96, bottom=60)
    totals = [sum((vs[i] or 0) for _, vs in series) for i in range(len(categories))]
    ticks = nice_ticks(0, max(totals, default=1) or 1)
    lo, hi = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return f.left + f.plot_w * (v - lo) / (hi - lo)

    base_y = f.top + row * len(categories)
    for t in ticks:
        f.parts.append(f'<line x1="{x(t):.1f}" y1="{f.top}" x2="{x(t):.1f}" y2="{base_y}" stroke="#E5E5E5"/>')
        f.parts.append(
            f'<text x="{x(t):.1f}" y="{base_y + 16}" text-anchor="middle" font-size="11" '
            f'fill="#555">{esc(fmt(t))}</text>'
        )
    for i, name in enumerate(categories):
        top = f.top + row * i + 3
        f.parts.append(
            f'<text x="{f.left - 6}" y="{top + 13}" text-anchor="end" font-size="12" '
            f'fill="#333">{esc(name)}</text>'
        )
        acc = 0.0
        for k, (label, vs) in enumerate(series):
            v = vs[i] or 0
            if v <= 0:
                continue
            f.parts.append(
                f'<rect x="{x(acc):.1f}" y="{top}" width="{x(acc + v) - x(acc):.1f}" height="{row - 6}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{esc(name)} {esc(label)}：{esc(fmt(v))}'
                f"</title></rect>"
            )
            acc += v
    f.legend([label for label, _ in series])
    return figure(chart_id, title, f.svg(title), note)


# ---------------------------------------------------------------- the page


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], total: Sequence[object] | None = None
) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(c if isinstance(c, str) else grouped(c))}</td>" for c in r) + "</tr>"
        for r in rows
    )
    foot = ""
    if total is not None:
        foot = (
            "<tfoot><tr>"
            + "".join(f"<td>{esc(c if isinstance(c, str) else grouped(c))}</td>" for c in total)
            + ("</tr></tfoot>")
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>"


def _label(period: str) -> str:
    y, m = period.split("-")
    return f"{int(m)}月" if m != "01" else f"{y[2:]}年1月"


def _series_by_program(
    data: ReportData, column: str, scale: Callable[[object], float] = float
) -> list[Series]:
    out: list[Series] = []
    d = data.district
    for program, label in data.programs.select("program", "program_label").iter_rows():
        part = dict(d.filter(pl.col("program") == program).select("period", column).iter_rows())
        out.append((label, [scale(part[m]) if part.get(m) is not None else 0.0 for m in data.months]))
    total = [sum(vs[i] for _, vs in out) for i in range(len(data.months))]
    return [*out, ("合计", total)]


def _district_series(data: ReportData, column: str) -> list:
    """The district's figure over all programs per month of data.months (None when not held)."""
    by = dict(data.district_total.select("period", column).iter_rows()) if data.district_total.height else {}
    return [by.get(m) for m in data.months]


def _rates(data: ReportData) -> list[Series]:
    return [
        ("校验退回率", _district_series(data, "rejection_rate")),
        (HIT_RATE, _district_series(data, "hit_rate")),
    ]


HIT_RATE = "申请核对命中率（申请件）"


def _tiles(data: ReportData) -> str:
    """The headline figures of the month, the district over all programs (mart rows)."""
    d = district_row(data)

    def n(key: str) -> int:
        return d.get(key) or 0

    days, rejection, hit = d.get("decision_days_avg"), d.get("rejection_rate"), d.get("hit_rate")
    tiles = [
        ("期末在保户数", grouped(n("households_closing")), "户"),
        ("期末保障人数", grouped(n("persons_closing")), "人"),
        (
            "本月发放金额",
            grouped(d.get("money_paid", Decimal(0))),
            f"元（其中补发 {grouped(d.get('money_paid_arrears', Decimal(0)))}）",
        ),
        ("新增 / 退出", f"{n('households_new'):,} / {n('households_exits'):,}", "户"),
        ("平均办理", "—" if days is None else f"{days:.1f}", "个工作日"),
        ("校验退回率", "—" if rejection is None else percent(rejection), f"退回 {n('versions_rejected'):,} 件"),
        (
            HIT_RATE,
            "—" if hit is None else percent(hit),
            f"有命中的申请 {n('checked_with_hits'):,} / 核对申请 {n('checked'):,} 件",
        ),
        (
            "核对命中（条）",
            f"{n('crosscheck_hits_applications'):,} / {n('crosscheck_hits_active'):,}",
            "申请件 / 在保户",
        ),
        ("暂停发放", grouped(n("held_cases")), f"户（本月暂停 {grouped(d.get('held_amount', Decimal(0)))} 元）"),
        (
            "此前月份仍暂停",
            grouped(n("held_outstanding_months")),
            f"月（{grouped(d.get('held_outstanding_amount', Decimal(0)))} 元）",
        ),
    ]
    return "".join(
        f'<div class="tile"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div>'
        f'<div class="u">{esc(u)}</div></div>'
        for k, v, u in tiles
    )


MOVEMENT = (
    ("households_opening", "期初户数"),
    ("households_new", "新增户数"),
    ("households_exits", "退出户数"),
    ("households_closing", "期末户数"),
    ("persons_closing", "期末人数"),
    ("money_owed_closing", "期末月应发（元）"),
    ("money_paid", "发放金额（元）"),
    ("money_paid_arrears", "其中补发（元）"),
    ("held_amount", "本月暂停金额（元）"),
    ("held_outstanding_amount", "此前月份仍暂停（元）"),
)


def _movement(data: ReportData) -> str:
    """Households, persons and money per program, the district's mart rows, and their 合计."""
    rows = [
        [label, *(district_row(data, program).get(k) for k, _ in MOVEMENT)]
        for program, label in data.programs.select("program", "program_label").iter_rows()
    ]
    total = district_row(data)
    return _table(["类别", *(h for _, h in MOVEMENT)], rows, ["合计", *(total.get(k) for k, _ in MOVEMENT)])


def _trend_note(data: ReportData) -> str:
    if not data.before_go_live:
        return ""
    return f"上线月份为{data.go_live}，此前月份（{'、'.join(data.before_go_live)}）的统计不列入趋势。"


def _trend_charts(data: ReportData) -> list[str]:
    """The 12 months (from go-live on), the towns of the month, the rates."""
    months = [_label(m) for m in data.months]
    note = _trend_note(data)
    labels = dict(data.programs.select("program", "program_label").iter_rows())
    towns = data.towns.select("town_code", "town_name").rows()
    frame = period_frame(data)
    by_town = {(r["town_code"], r["program"]): r["households_closing"] for r in frame.iter_rows(named=True)}
    return [
        line_chart(
            "trend-caseload",
            "近12个月在保户数",
            months,
            _series_by_program(data, "households_closing"),
            note=note,
        ),
        line_chart(
            "trend-persons", "近12个月保障人数", months, _series_by_program(data, "persons_closing"), note=note
        ),
        bar_chart(
            "trend-money",
            "近12个月发放金额（元，按批次月份）",
            months,
            [
                ("当月发放", [float(x) for x in _district_sum(data, "money_paid_monthly")]),
                ("补发", [float(x) for x in _district_sum(data, "money_paid_arrears")]),
                ("一次性", [float(x) for x in _district_sum(data, "money_paid_one_off")]),
            ],
            note=note,
        ),
        hbar_chart(
            "town-comparison",
            f"各镇街在保户数（{data.period}）",
            [n for _, n in towns],
            [
                (label, [by_town.get((code, program), 0) for code, _ in towns])
                for program, label in labels.items()
            ],
        ),
        line_chart(
            "rates", f"近12个月校验退回率与{HIT_RATE}", months, _rates(data), fmt=percent, note=note
        ),
    ]


def _budget_section(data: ReportData) -> tuple[str, str]:
    """(the projection chart, the per-program table), empty without a projection."""
    budget = budget_table(data)
    if not budget.height:
        return "", ""
    labels = dict(data.programs.select("program", "program_label").iter_rows())
    periods = sorted(set(budget["period"].to_list()))
    base = budget.filter(pl.col("scenario") == "base").group_by("period").agg(pl.col("money").sum())
    what = budget.filter(pl.col("scenario") == "what_if").group_by("period").agg(pl.col("money").sum())
    base_m, what_m = dict(base.iter_rows()), dict(what.iter_rows())
    series: list[Series] = [("现行标准", [float(base_m.get(p, 0)) for p in periods])]
    if what_m:
        series.append(("标准提高（假设）", [float(what_m.get(p, 0)) for p in periods]))
    rise = data.budget.filter((pl.col("scenario") == "what_if") & (pl.col("standard_rise") > 0)).sort("period")
    note = "标准提高情形：已公布的标准提高已计入现行标准，不再另加。" if what_m else ""
    if rise.height:
        parts = rise.group_by("program").agg(pl.col("standard_rise").first()).sort("program")
        note = f"假设自{rise['period'][0]}起标准提高：" + "，".join(
            f"{labels.get(p, p)} {v} 元/人·月" for p, v in parts.iter_rows()
        )
    chart = line_chart(
        "budget",
        f"未来12个月资金需求预测（元/月，基数月{data.period}）",
        [_label(p) for p in periods],
        series,
        dashed={"标准提高（假设）"},
        note=note,
    )
    by_program = (
        budget.filter(pl.col("scenario") == "base")
        .group_by("program")
        .agg(pl.col("money").sum(), pl.col("households").last(), pl.col("persons").last())
    )
    rows = [[labels.get(p, p), h, n, m] for p, m, h, n in by_program.sort("program").iter_rows()]
    table = _table(
        ["类别", "第12个月户数", "第12个月人数", "12个月合计（元，现行标准）"],
        rows,
        ["合计", sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)],
    )
    return chart, table


def _rule_tables(data: ReportData) -> str:
    """Per rule, the district's month: versions and files rejected (P, V), cross-check hits
    (X) and the findings raised, cleared and open of every rule."""
    rules = rule_table(data)
    if not rules.height:
        return '<p class="note">本月无校验退回、核对命中或问题解除。</p>'
    parts = []
    rejected = rules.filter(pl.col("rejected") > 0)
    if rejected.height:
        rows = [[r["rule_id"], r["title"], r["rejected"], r["files"]] for r in rejected.iter_rows(named=True)]
        parts.append("<h3>数据校验退回（按规则）</h3>")
        parts.append(
            _table(
                ["规则", "问题", "退回件数（版本与文件）", "其中整份文件"],
                rows,
                ["合计", "", sum(r[2] for r in rows), sum(r[3] for r in rows)],
            )
        )
    hits = rules.filter(pl.col("rule_id").str.starts_with("X") & (pl.col("raised") > 0))
    if hits.height:
        rows = [[r["rule_id"], r["title"], r["raised"]] for r in hits.iter_rows(named=True)]
        parts.append("<h3>信息核对命中（按规则，新发现条数）</h3>")
        parts.append(_table(["规则", "问题", "命中条数"], rows, ["合计", "", sum(r[2] for r in rows)]))
    moved = rules.filter((pl.col("raised") + pl.col("cleared") + pl.col("open_at_end")) > 0)
    if moved.height:
        keys = ("raised", "cleared_auto", "cleared_officer", "confirmed", "cleared", "open_at_end")
        rows = [[r["rule_id"], r["title"], *(r[k] for k in keys)] for r in moved.iter_rows(named=True)]
        parts.append("<h3>问题发现与解除（按规则）</h3>")
        parts.append(
            _table(
                ["规则", "问题", "新发现", "自动解除", "人工解除", "复核确认", "解除合计", "月末未解决"],
                rows,
                ["合计", "", *(sum(r[i] for r in rows) for i in range(2, 2 + len(keys)))],
            )
        )
    return "".join(parts)


def render(data: ReportData) -> str:
    """The page: headline tiles, movement, charts, per-rule tables, budget, inspections, definitions."""
    budget_chart, budget_html = _budget_section(data)
    charts = _trend_charts(data) + ([budget_chart] if budget_chart else [])
    towns = data.towns.select("town_code", "town_name").rows()
    y, m = data.period.split("-")
    return PAGE.format(
        title=esc(f"{TITLE}（{y}年{int(m)}月）"),
        bureau=esc(BUREAU),
        period=esc(data.period),
        as_of=esc(f"{data.as_of:%Y-%m-%d}"),
        tiles=_tiles(data),
        movement=_movement(data),
        charts="".join(charts),
        rules=_rule_tables(data),
        budget=budget_html,
        inspection=_inspection_table(data, towns),
        definitions="".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in DEFINITIONS),
        font=FONT,
    )


def _district_sum(data: ReportData, column: str) -> list[Decimal]:
    sums = dict(data.district.group_by("period").agg(pl.col(column).sum()).iter_rows())
    return [sums.get(m, Decimal(0)) for m in data.months]


def _inspection_table(data: ReportData, towns: list[tuple[str, str]]) -> str:
    if not data.inspections.height:
        return '<p class="note">本月抽查结果尚未录入（入户抽查统计表尚无数据）。</p>'
    by = {r["town_code"]: r for r in data.inspections.iter_rows(named=True)}
    rows = []
    for code, name in towns:
        r = by.get(code)
        if r is None:
            continue
        rate = "—" if r["error_rate"] is None else percent(r["error_rate"])
        ci = "—" if r["ci_low"] is None else f"{percent(r['ci_low'])}–{percent(r['ci_high'])}"
        rows.append([name, r["population"], r["sampled"], r["inspected"], r["not_true"], rate, ci])
    return _table(["镇街", "抽查总体", "样本", "已核查", "不属实", "差错率", "95%区间"], rows)


PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: {font}; margin: 24px auto; max-width: 1180px; color: #222; background: #fff; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }} h3 {{ font-size: 15px; margin: 16px 0 6px; }} h2 {{ font-size: 17px; margin: 28px 0 10px; border-left: 4px solid #2F5597;
padding-left: 8px; }}
.sub {{ color: #555; font-size: 13px; }}
.tiles {{ display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; margin-top: 16px; }}
.tile {{ border: 1px solid #D9D9D9; border-radius: 6px; padding: 10px 12px; background: #F7F9FC; }}
.tile .k {{ font-size: 13px; color: #555; }} .tile .v {{ font-size: 22px; font-weight: bold; margin: 4px 0; }}
.tile .u {{ font-size: 12px; color: #777; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure.chart {{ margin: 0; padding: 8px; border: 1px solid #E5E5E5; border-radius: 6px; }}
figure.chart svg {{ max-width: 100%; height: auto; display: block; }}
figure.chart figcaption {{ font-weight: bold; font-size: 14px; margin-bottom: 4px; }}
table {{ border-collapse: collapse; font-size: 13px; margin: 6px 0; }}
th, td {{ border: 1px solid #BFBFBF; padding: 4px 8px; text-align: right; }}
th {{ background: #DDEBF7; text-align: center; }} td:first-child {{ text-align: left; }}
tfoot td {{ font-weight: bold; background: #F2F2F2; }}
.note {{ color: #666; font-size: 12px; }}
dl {{ font-size: 13px; }} dt {{ font-weight: bold; margin-top: 6px; }} dd {{ margin-left: 1em; }}
</style>
</head>
<body data-period="{period}">
<h1>{title}</h1>
<div class="sub">填报单位：{bureau}　统计期：{period}　数据截至：{as_of}　金额单位：元</div>
<div class="tiles">{tiles}</div>
<h2>在保户数、人数与资金</h2>
{movement}
<h2>图表</h2>
<div class="charts">{charts}</div>
<h2>校验退回、核对命中与问题解除（按规则）</h2>
{rules}
<h2>资金需求预测</h2>
{budget}
<h2>新批准案件入户抽查</h2>
{inspection}
<h2>指标说明</h2>
<dl>{definitions}</dl>
<script>
window.addEventListener("load", function () {{
  var figures = document.querySelectorAll("figure.chart");
  var drawn = 0;
  figures.forEach(function (f) {{
    var svg = f.querySelector("svg");
    if (!svg) return;
    var box = svg.getBoundingClientRect();
    var marks = svg.querySelectorAll("rect, polyline, circle").length;
    svg.setAttribute("data-rendered", Math.round(box.width) + "x" + Math.round(box.height));
    svg.setAttribute("data-marks", String(marks));
    if (box.width > 0 && box.height > 0 && svg.childElementCount > 0) drawn++;
  }});
  document.body.setAttribute("data-charts-drawn", String(drawn));
}});
</script>
</body>
</html>
"""


def html_path(home: Home, period: str) -> Path:
    return report_dir(home, period) / "report.html"


def write_html(home: Home, data: ReportData) -> Path:
    return write_text(html_path(home, data.period), render(data))
