"""The monthly statistics workbooks (SPEC §6): `统计月报_<YYYY-MM>.xlsx` for the city
and the bureau, and its public edition `统计月报_<YYYY-MM>_公开版.xlsx` with small
counts suppressed (transforms.suppression).

Laid out the way a bureau sends a report: a title and the reporting unit on
top, Chinese headers (grouped), a sheet per program with the towns as rows and
a 合计 (district total) row, number formats for counts, yuan, days and rates,
and the header frozen. Every figure comes from the mart tables (ReportData):
averages and rates are the mart rows' own (a town's, the district's per program in
mart.district_monthly; over all programs warehouse.mart.sum_with_ratios). Printed
landscape, fit to the page width (A3 when wide; the widest sheets in column bands
with the towns repeated), header rows repeated on every page. Files are written to a
temporary name and renamed into place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import xlsxwriter

from core.files import atomic_target
from core.home import Home
from core.periods import shift_period
from transforms.catalogue import RULES
from transforms.suppression import COMPLEMENT_MARK, crosstab_cells, primary_mark
from warehouse.mart import RATIOS, TREND_MONTHS, ReportData, sum_with_ratios

FIXED_CREATED = datetime(2000, 1, 1)
BUREAU = "綦江区民政局"
TITLE = "綦江区城乡低保和特困人员救助供养统计月报"
TOTAL = "合计"

log = logging.getLogger("jiuzhu.report")


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    kind: str  # count, money, days, rate, text
    group: str = ""


BLANK = "blank"  # a cell left empty on purpose (a total that would mean nothing)
MEASURES: tuple[Col, ...] = (
    Col("households_opening", "期初户数", "count", "户数（户）"),
    Col("households_new", "新增户数", "count", "户数（户）"),
    Col("households_exits", "退出户数", "count", "户数（户）"),
    Col("households_closing", "期末户数", "count", "户数（户）"),
    Col("new_first_approval", "新增：首次批准", "count", "新增与退出构成（户）"),
    Col("new_resumed", "新增：恢复发放", "count", "新增与退出构成（户）"),
    Col("new_program_change", "新增：类别转入", "count", "新增与退出构成（户）"),
    Col("new_late_filed", "新增中补报", "count", "新增与退出构成（户）"),
    Col("exits_suspended", "退出：停发", "count", "新增与退出构成（户）"),
    Col("exits_terminated", "退出：终止", "count", "新增与退出构成（户）"),
    Col("exits_void", "退出：作废", "count", "新增与退出构成（户）"),
    Col("exits_program_change", "退出：类别转出", "count", "新增与退出构成（户）"),
    Col("exits_other", "退出：其他", "count", "新增与退出构成（户）"),
    Col("persons_opening", "期初人数", "count", "保障人数（人）"),
    Col("persons_new", "新增人数", "count", "保障人数（人）"),
    Col("persons_exits", "退出人数", "count", "保障人数（人）"),
    Col("persons_changes", "在保户人数增减", "count", "保障人数（人）"),
    Col("persons_closing", "期末人数", "count", "保障人数（人）"),
    Col("money_owed_opening", "期初月应发", "money", "月应发金额（元）"),
    Col("money_owed_new", "新增户应发", "money", "月应发金额（元）"),
    Col("money_owed_exits", "退出户应发", "money", "月应发金额（元）"),
    Col("money_owed_changes", "在保户增减", "money", "月应发金额（元）"),
    Col("money_owed_closing", "期末月应发", "money", "月应发金额（元）"),
    Col("households_paid", "发放户数", "count", "本月发放（按批次月份，元）"),
    Col("money_paid", "发放金额", "money", "本月发放（按批次月份，元）"),
    Col("money_paid_monthly", "其中：当月", "money", "本月发放（按批次月份，元）"),
    Col("money_paid_arrears", "其中：补发", "money", "本月发放（按批次月份，元）"),
    Col("money_paid_one_off", "其中：一次性", "money", "本月发放（按批次月份，元）"),
    Col("money_failed", "银行退回失败", "money", "本月发放（按批次月份，元）"),
    Col("held_cases", "暂停发放户数", "count", "暂停与追回"),
    Col("held_amount", "本月暂停金额（元）", "money", "暂停与追回"),
    Col("held_outstanding_months", "此前月份仍暂停（月数）", "count", "暂停与追回"),
    Col("held_outstanding_amount", "此前月份仍暂停金额（元）", "money", "暂停与追回"),
    Col("recoveries", "应追回笔数", "count", "暂停与追回"),
    Col("recovery_amount", "应追回金额（元）", "money", "暂停与追回"),
    Col("cases_first_filed", "新报送案件", "count", "审核审批"),
    Col("applications_pending", "月末待审批", "count", "审核审批"),
    Col("decisions", "审批件数", "count", "审核审批"),
    Col("first_approvals", "首次批准", "count", "审核审批"),
    Col("denials", "不予批准", "count", "审核审批"),
    Col("decision_days_avg", "平均办理工作日", "days", "审核审批"),
    Col("decisions_over_limit", "超时限件数", "count", "审核审批"),
    Col("breaches_v07", "超时审批(V07)", "count", "审核审批"),
    Col("overdue_m02", "逾期未审批(M02)", "count", "审核审批"),
    Col("versions_submitted", "报送案件版本", "count", "数据校验"),
    Col("versions_rejected", "退回版本", "count", "数据校验"),
    Col("rejection_rate", "退回率", "rate", "数据校验"),
    Col("checked", "核对申请（件）", "count", "信息核对"),
    Col("checked_with_hits", "有命中的申请（件）", "count", "信息核对"),
    Col("hit_rate", "申请核对命中率（申请件）", "rate", "信息核对"),
    Col("crosscheck_hits_applications", "命中条数：申请件", "count", "信息核对"),
    Col("crosscheck_hits_active", "命中条数：在保户", "count", "信息核对"),
    Col("crosscheck_hits", "命中条数合计", "count", "信息核对"),
    Col("findings_raised", "新发现问题", "count", "问题处理"),
    Col("clearings", "解除问题", "count", "问题处理"),
    Col("clearings_officer", "其中人工解除", "count", "问题处理"),
    Col("inspection_population", "抽查总体", "count", "入户抽查"),
    Col("inspection_sampled", "抽取样本", "count", "入户抽查"),
    Col("inspection_inspected", "已核查", "count", "入户抽查"),
    Col("inspection_not_true", "不属实", "count", "入户抽查"),
    Col("inspection_error_rate", "差错率", "rate", "入户抽查"),
)
PUBLIC_MEASURES: tuple[Col, ...] = (
    Col("households_closing", "期末户数", "count"),
    Col("persons_closing", "期末人数", "count"),
    Col("households_new", "新增户数", "count"),
    Col("households_exits", "退出户数", "count"),
    Col("money_paid", "发放金额（元）", "money"),
    Col("decisions", "审批件数", "count"),
    Col("denials", "不予批准", "count"),
)

DEFINITIONS = (
    ("统计口径", "每月按该月最后一日已报送的案件版本统计（补报案件计入报送当月的新增）。"),
    ("户数", "当月执行版本为批准状态的案件数；期初户数为上月期末户数，上线首月期初为存量（基线）台账。"),
    (
        "户数平衡",
        "期初户数 + 新增户数 − 退出户数 = 期末户数。停发、终止、作废计为退出，恢复发放计为新增；"
        "类别或镇街变更计为一退一增。",
    ),
    ("人数", "保障对象（是否保障对象为“是”的家庭成员）人数；期初 + 新增 − 退出 + 在保户人数增减 = 期末。"),
    (
        "月应发金额",
        "当月执行版本的月保障金额加标准提高后的调增额（元/月）；期初 + 新增 − 退出 + 增减 = 期末。",
    ),
    ("发放金额", "该月发放批次中未作废的发放明细金额（按批次所属月份），补发与一次性发放单列。"),
    (
        "暂停发放",
        "本月结算时暂停发放的户数；本月暂停金额为暂停的本月应发金额；暂停期间此前月份的应发仍暂停的，"
        "其月数与金额另列（“此前月份仍暂停”），不计入本月暂停金额。",
    ),
    (
        "审批件数",
        "当月报送的首次审批（批准或不予批准）；办理工作日为受理日期至审批日期的工作日数（法定节假日与调休）。",
    ),
    ("超时限", "办理工作日超过时限（低保30个工作日，延期45个；特困25个）；V07、M02为相应问题数。"),
    ("退回", "因错误被整案退回的案件版本（规则P、V）；退回率 = 退回版本 / 报送案件版本。"),
    (
        "核对",
        "申请核对命中率（申请件）= 有命中的申请 / 当月经家庭经济状况信息核对的申请，只计申请件；"
        "命中条数为当月新发现的核对问题（X规则），申请件与在保户（在保对象定期比对）分列。",
    ),
    ("问题解除", "自动解除（后续报送或数据不再触发）、人工解除及复核确认之和。"),
    ("入户抽查", "按抽查月份统计；差错率 = 不属实 / 已核查。抽查结果未录入时为0。"),
    (
        "预算预测",
        "以本月在保户数、人数和月应发金额为基数，按近6个月趋势外推12个月；标准按已公布标准执行，"
        "假设情形另加标准提高额（已公布并计入现行标准的提高不再重复加计）。",
    ),
    ("合计", "区合计为各镇街之和；平均数与比率取统计表（mart）中全区的数，不由各镇街数平均。"),
    ("上线月份", "系统上线（首次结算）以前的月份不列入趋势；上线首月期初为存量（基线）台账。"),
)


# ---------------------------------------------------------------- frames


def period_frame(data: ReportData) -> pl.DataFrame:
    """One row per town and program of the report month with every measure."""
    stats = data.stats.filter(pl.col("period") == data.period)
    breakdown = [c.key for c in MEASURES if c.key in data.caseload.columns and c.key not in stats.columns]
    frame = stats.join(
        data.caseload.select("town_code", "program", *breakdown), on=["town_code", "program"], how="left"
    )
    extra = data.payments.select("town_code", "program", "money_failed")
    frame = frame.join(extra, on=["town_code", "program"], how="left")
    return frame.with_columns(
        pl.col(breakdown).fill_null(0), pl.col("money_failed").fill_null(Decimal("0.00"))
    )


def district_row(data: ReportData, program: str | None = None) -> dict:
    """The district's figures of the report month: mart.district_monthly's row of `program`,
    or over all programs (data.district_total) when None; {} when the marts hold none."""
    if program is None:
        rows = data.district_total.filter(pl.col("period") == data.period) if data.district_total.height else None
    else:
        rows = data.district.filter((pl.col("period") == data.period) & (pl.col("program") == program))
    return rows.row(0, named=True) if rows is not None and rows.height else {}


def total_row(frame: pl.DataFrame, district: dict) -> dict:
    """A 合计 row: the district's mart row, with the counts and money it does not carry (the
    movement breakdown, bank failures) summed from the towns' rows in `frame`."""
    out = {k: v for k, v in district.items()}
    for key in frame.columns:
        if key not in out and key not in RATIOS and (frame[key].dtype.is_integer() or frame[key].dtype.is_decimal()):
            out[key] = frame[key].sum()
    return out


def _rule_title(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    return f"{rule_id} {rule.title_zh}" if rule else rule_id


def _period_label(period: str) -> str:
    y, m = period.split("-")
    return f"{y}年{int(m)}月"


# ---------------------------------------------------------------- writing

A4, A3 = 9, 8  # xlsxwriter paper sizes
# landscape width less 0.4 in margins either side, inches
PRINTABLE = {A4: 11.69 - 0.8, A3: 16.54 - 0.8}
MIN_SCALE = {A4: 0.7, A3: 0.6}  # below this a sheet fit to the width is too small to read
BAND_SCALES = (80, 75, 70, 65, 60)  # the widest sheets: A3 in column bands of whole groups, at the
# largest of these scales that needs no more bands than the smallest


def column_inches(width: float) -> float:
    """Printed width of a column of `width` characters: Excel's Calibri 11 takes 7 px a character
    + 5 (96 px an inch); LibreOffice, without Calibri, about 9.5 px, which we take (measured)."""
    return (9.5 * width + 5) / 96


def column_width(col: Col) -> int:
    """Characters: wide enough for the figures; the header wraps (a CJK character is two)."""
    if col.kind == "money":
        return 13
    if col.kind in ("rate", "days"):
        return 10
    return max(8, min(11, len(col.header) + 2))


def shown_length(value, kind: str) -> int:
    """Characters a figure takes in its number format (a total's 12 months of yuan need more)."""
    if value is BLANK:
        return 0
    if isinstance(value, str):
        return len(value)
    if value is None or kind not in ("count", "money"):
        return 0
    return len(f"{float(value):,.2f}") if kind == "money" else len(f"{int(value):,}")


class _Book:
    """xlsxwriter with the report's formats, and each sheet's print setup."""

    def __init__(self, path: Path):
        self.path = path
        self.widths: dict[str, dict[int, float]] = {}  # sheet -> column -> width set
        self.groups: dict[str, list[int]] = {}  # sheet -> first column of each header group
        self.wb = xlsxwriter.Workbook(
            str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        )
        self.wb.set_properties({"created": FIXED_CREATED, "author": BUREAU, "title": TITLE})
        add = self.wb.add_format
        self.title = add({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
        self.sub = add({"font_size": 10, "italic": False, "font_color": "#444444"})
        self.group = add(
            {
                "bold": True,
                "align": "center",
                "valign": "vcenter",
                "border": 1,
                "bg_color": "#BDD7EE",
                "text_wrap": True,
            }
        )
        self.head = add(
            {
                "bold": True,
                "align": "center",
                "valign": "vcenter",
                "border": 1,
                "bg_color": "#DDEBF7",
                "text_wrap": True,
            }
        )
        self.text = add({"border": 1})
        self.note = add({"text_wrap": True, "valign": "top"})
        base = {"border": 1}
        total = {"border": 1, "bold": True, "bg_color": "#F2F2F2"}
        self.num = {
            "count": add(base | {"num_format": "#,##0"}),
            "money": add(base | {"num_format": "#,##0.00"}),
            "days": add(base | {"num_format": "0.0"}),
            "rate": add(base | {"num_format": "0.0%"}),
            "text": add(base),
        }
        self.num_total = {
            "count": add(total | {"num_format": "#,##0"}),
            "money": add(total | {"num_format": "#,##0.00"}),
            "days": add(total | {"num_format": "0.0"}),
            "rate": add(total | {"num_format": "0.0%"}),
            "text": add(total),
        }
        self.hidden = add(base | {"align": "right", "font_color": "#7F7F7F"})
        self.hidden_total = add(total | {"align": "right", "font_color": "#7F7F7F"})

    def cell(self, ws, r: int, c: int, value, kind: str, total: bool = False) -> None:
        fmt = (self.num_total if total else self.num)[kind]
        if value is None and kind in ("count", "money"):
            value = 0  # nothing counted is a zero; an average or a rate of nothing stays blank
        if value is None or value is BLANK:
            ws.write_blank(r, c, None, fmt)
        elif isinstance(value, str) and kind != "text":
            ws.write_string(r, c, value, self.hidden_total if total else self.hidden)
        elif kind == "text":
            ws.write_string(r, c, str(value), fmt)
        else:
            ws.write_number(r, c, float(value) if isinstance(value, Decimal) else value, fmt)

    def width(self, ws, first: int, last: int, width: float) -> None:
        ws.set_column(first, last, width)
        for c in range(first, last + 1):
            self.widths.setdefault(ws.name, {})[c] = width

    def print_setup(self, ws, header: tuple[int, int] | None, labels: int = 0) -> str:
        """Landscape, header rows repeated, page numbers; fit to the page width on A4, or on A3
        when wide; a sheet too wide for either prints on A3 in bands of whole header groups (at
        one of BAND_SCALES), its first `labels` columns repeated on every band. Returns the paper
        chosen."""
        ws.set_landscape()
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.hide_gridlines(0)
        if header is not None:
            ws.repeat_rows(*header)
        widths = self.widths.get(ws.name, {})
        inches = sum(column_inches(w) for w in widths.values())
        for paper in (A4, A3):
            if inches * MIN_SCALE[paper] <= PRINTABLE[paper]:
                ws.set_paper(paper)
                ws.fit_to_pages(1, 0)
                return "A4" if paper == A4 else "A3"
        ws.set_paper(A3)
        if labels:
            ws.repeat_columns(0, labels - 1)
        scale, breaks = BAND_SCALES[0], self._bands(ws.name, labels, BAND_SCALES[0])
        for smaller in BAND_SCALES[1:]:
            fewer = self._bands(ws.name, labels, smaller)
            if len(fewer) < len(breaks):
                scale, breaks = smaller, fewer
        ws.set_print_scale(scale)
        ws.set_v_pagebreaks(breaks)
        return "A3 bands"

    def _bands(self, sheet: str, labels: int, scale: int) -> list[int]:
        """Column breaks packing whole header groups into A3 pages at `scale`%."""
        widths = self.widths.get(sheet, {})

        def inches(first: int, last: int) -> float:
            return sum(column_inches(widths.get(c, 8.43)) for c in range(first, last))

        room = PRINTABLE[A3] * 100 / scale - inches(0, labels)
        starts = [g for g in self.groups.get(sheet, []) if g > labels] + [max(widths, default=0) + 1]
        breaks, band_start, last_fit = [], labels, None
        for g in starts:
            if inches(band_start, g) > room and last_fit is not None and last_fit > band_start:
                breaks.append(last_fit)
                band_start = last_fit
            last_fit = g
        return breaks

    def heading(self, ws, title: str, subtitle: str, width: int) -> None:
        ws.merge_range(0, 0, 0, max(1, width - 1), title, self.title)
        ws.set_row(0, 28)
        ws.write_string(1, 0, subtitle, self.sub)

    def table(
        self,
        ws,
        top: int,
        label_cols: Sequence[tuple[str, int]],
        columns: Sequence[Col],
        rows: list[tuple[list[str], dict]],
        total: tuple[list[str], dict] | None,
        grouped: bool = True,
    ) -> int:
        """Group header row (optional), header row, rows, total row; returns the next free row."""
        left = len(label_cols)
        r = top
        if grouped:
            for i, (name, _w) in enumerate(label_cols):
                ws.merge_range(r, i, r + 1, i, name, self.head)
            start = 0
            while start < len(columns):
                self.groups.setdefault(ws.name, []).append(left + start)
                end = start
                while end + 1 < len(columns) and columns[end + 1].group == columns[start].group:
                    end += 1
                if end > start:
                    ws.merge_range(r, left + start, r, left + end, columns[start].group, self.group)
                else:
                    ws.write_string(r, left + start, columns[start].group, self.group)
                start = end + 1
            r += 1
        else:
            for i, (name, _w) in enumerate(label_cols):
                ws.write_string(r, i, name, self.head)
        for j, col in enumerate(columns):
            ws.write_string(r, left + j, col.header, self.head)
        lines = max((-(-2 * len(c.header) // max(1, column_width(c) - 2)) for c in columns), default=1)
        ws.set_row(r, max(32, 15 * min(lines, 5) + 4))
        r += 1
        for labels, values in rows:
            for i, text in enumerate(labels):
                ws.write_string(r, i, text, self.text)
            for j, col in enumerate(columns):
                self.cell(ws, r, left + j, values.get(col.key), col.kind)
            r += 1
        if total is not None:
            labels, values = total
            for i, text in enumerate(labels):
                ws.write_string(r, i, text, self.num_total["text"])
            for j, col in enumerate(columns):
                self.cell(ws, r, left + j, values.get(col.key), col.kind, total=True)
            r += 1
        for i, (_name, width) in enumerate(label_cols):
            self.width(ws, i, i, width)
        values = [v for _, v in rows] + ([total[1]] if total is not None else [])
        for j, col in enumerate(columns):
            longest = max((shown_length(v.get(col.key), col.kind) for v in values), default=0)
            self.width(ws, left + j, left + j, max(column_width(col), longest + 2))
        return r

    def close(self) -> None:
        self.wb.close()


def report_dir(home: Home, period: str) -> Path:
    return home.out / "reports" / period


def official_path(home: Home, period: str) -> Path:
    return report_dir(home, period) / f"统计月报_{period}.xlsx"


def public_path(home: Home, period: str) -> Path:
    return report_dir(home, period) / f"统计月报_{period}_公开版.xlsx"


def _subtitle(data: ReportData, extra: str = "") -> str:
    return (
        f"填报单位：{BUREAU}    统计期：{_period_label(data.period)}    数据截至：{data.as_of:%Y-%m-%d}"
        f"    金额单位：元{extra}"
    )


def _town_rows(frame: pl.DataFrame, data: ReportData) -> list[tuple[list[str], dict]]:
    by_town = {r["town_code"]: r for r in frame.iter_rows(named=True)}
    rows = []
    for code, name in data.towns.select("town_code", "town_name").iter_rows():
        rows.append(([code, name], by_town.get(code, {})))
    return rows


def write_official(home: Home, data: ReportData) -> Path:
    """统计月报_<YYYY-MM>.xlsx: summary, a sheet per program, rejections, cross-check,
    findings, inspections, budget, definitions."""
    path = official_path(home, data.period)
    tmp = atomic_target(path)
    book = _Book(tmp)
    frame = period_frame(data)
    title = f"{TITLE}（{_period_label(data.period)}）"

    # 汇总: measures as rows, programs as columns
    ws = book.wb.add_worksheet("汇总")
    labels = data.programs["program_label"].to_list()
    book.heading(ws, title, _subtitle(data), len(labels) + 3)
    per_program = [
        total_row(frame.filter(pl.col("program") == p), district_row(data, p)) for p in data.programs["program"]
    ]
    grand = total_row(frame, district_row(data))
    header = ["指标分组", "指标", *labels, TOTAL]
    r = 3
    for c, text in enumerate(header):
        ws.write_string(r, c, text, book.head)
    header_row = r
    r += 1
    for col in MEASURES:
        ws.write_string(r, 0, col.group, book.text)
        ws.write_string(r, 1, col.header, book.text)
        for j, values in enumerate(per_program):
            book.cell(ws, r, 2 + j, values.get(col.key), col.kind)
        book.cell(ws, r, 2 + len(per_program), grand.get(col.key), col.kind, total=True)
        r += 1
    book.width(ws, 0, 0, 18)
    book.width(ws, 1, 1, 24)
    book.width(ws, 2, 2 + len(labels), 14)
    ws.freeze_panes(header_row + 1, 2)
    # by town, all programs
    r += 1
    ws.write_string(r, 0, "分镇街情况（各类别合计）", book.sub)
    town_cols = [
        c
        for c in MEASURES
        if c.key
        in (
            "households_closing",
            "persons_closing",
            "households_new",
            "households_exits",
            "money_owed_closing",
            "money_paid",
            "decisions",
            "versions_rejected",
            "crosscheck_hits",
            "held_cases",
        )
    ]
    town_totals = frame.group_by("town_code").agg(pl.col(c.key).sum() for c in town_cols)
    book.table(
        ws,
        r + 1,
        [("镇街代码", 12), ("镇街", 14)],
        town_cols,
        _town_rows(town_totals, data),
        (["", TOTAL], total_row(frame, district_row(data))),
        grouped=False,
    )
    book.width(ws, 0, 0, 18)
    book.width(ws, 1, 1, 24)
    book.print_setup(ws, (header_row, header_row))

    # one sheet per program: towns as rows, a 合计 row
    for program, label in data.programs.select("program", "program_label").iter_rows():
        sheet = book.wb.add_worksheet(label)
        part = frame.filter(pl.col("program") == program)
        book.heading(sheet, f"{title}——{label}", _subtitle(data), len(MEASURES) + 2)
        book.table(
            sheet,
            3,
            [("镇街代码", 12), ("镇街", 14)],
            MEASURES,
            _town_rows(part, data),
            (["", f"{TOTAL}（全区）"], total_row(part, district_row(data, program))),
        )
        sheet.freeze_panes(5, 2)
        book.print_setup(sheet, (3, 4), labels=2)

    _rejections_sheet(book, data, title)
    _crosscheck_sheet(book, data, frame, title)
    _findings_sheet(book, data, title)
    _inspection_sheet(book, data, frame, title)
    _budget_sheet(book, data, title)
    _definitions_sheet(book, data, title)
    book.close()
    os.replace(tmp, path)
    return path


def _other_label(code: str) -> str:
    return "未知" if code == "unknown" else f"其他（{code}）"


def _rejections_sheet(book: _Book, data: ReportData, title: str) -> None:
    ws = book.wb.add_worksheet("校验退回")
    rej = data.rejections
    rule_ids = sorted(r for r in RULES if r[0] in "PV" and RULES[r].severity == "error")
    rule_ids += sorted(set(rej["rule_id"].to_list()) - set(rule_ids)) if rej.height else []
    cols = [Col(f"r_{r}", _rule_title(r), "count", "退回案件版本（按规则）") for r in rule_ids]
    cols.append(Col("files", "整份退回文件", "count", "文件"))
    cols.append(Col("versions", "退回版本（去重）", "count", "合计"))
    distinct = dict(data.processing.group_by("town_code").agg(pl.col("versions_rejected").sum()).iter_rows())
    by_town: dict[str, dict] = {}
    for row in rej.iter_rows(named=True):
        d = by_town.setdefault(row["town_code"], {})
        d[f"r_{row['rule_id']}"] = (
            d.get(f"r_{row['rule_id']}", 0) + row["versions_rejected"] + row["files_rejected"]
        )
        d["files"] = d.get("files", 0) + row["files_rejected"]
    known = data.towns["town_code"].to_list()
    rows = []
    for code, name in data.towns.select("town_code", "town_name").iter_rows():
        values = dict(by_town.get(code, {}))
        values["versions"] = distinct.get(code, 0)
        rows.append(([code, name], values))
    for code in sorted((set(by_town) | {c for c, n in distinct.items() if n}) - set(known)):
        values = dict(by_town.get(code, {}))
        values["versions"] = distinct.get(code, 0)
        rows.append(([code, _other_label(code)], values))
    totals = {c.key: sum((v.get(c.key) or 0) for _, v in rows) for c in cols}
    book.heading(ws, f"{title}——数据校验退回", _subtitle(data, "    计数单位：件"), len(cols) + 2)
    book.table(ws, 3, [("镇街代码", 12), ("镇街", 16)], cols, rows, (["", TOTAL], totals))
    ws.freeze_panes(5, 2)
    book.print_setup(ws, (3, 4), labels=2)


def _crosscheck_sheet(book: _Book, data: ReportData, frame: pl.DataFrame, title: str) -> None:
    ws = book.wb.add_worksheet("信息核对")
    x_rules = sorted(r for r in RULES if r.startswith("X"))
    cols = [Col(f"r_{r}", _rule_title(r), "count", "核对命中（新发现，按规则）") for r in x_rules]
    cols += [
        Col("crosscheck_hits_applications", "命中条数：申请件", "count", "命中条数"),
        Col("crosscheck_hits_active", "命中条数：在保户", "count", "命中条数"),
        Col("checked", "核对申请（件）", "count", "申请件核对"),
        Col("checked_with_hits", "有命中的申请（件）", "count", "申请件核对"),
        Col("hit_rate", "申请核对命中率（申请件）", "rate", "申请件核对"),
    ]
    hits = data.findings.filter(pl.col("rule_id").str.starts_with("X"))
    by_town: dict[str, dict] = {}
    for row in hits.iter_rows(named=True):
        d = by_town.setdefault(row["town_code"], {})
        d[f"r_{row['rule_id']}"] = d.get(f"r_{row['rule_id']}", 0) + row["raised"]
    keys = ("crosscheck_hits_applications", "crosscheck_hits_active", "checked", "checked_with_hits", "hit_rate")
    for town in sum_with_ratios(frame, ["town_code"]).iter_rows(named=True):
        by_town.setdefault(town["town_code"], {}).update({k: town[k] for k in keys})
    rows = [([c, n], by_town.get(c, {})) for c, n in data.towns.select("town_code", "town_name").iter_rows()]
    totals = {c.key: sum((v.get(c.key) or 0) for _, v in rows) for c in cols if c.kind == "count"}
    totals |= {k: district_row(data).get(k) for k in keys}
    book.heading(ws, f"{title}——家庭经济状况信息核对", _subtitle(data, "    计数单位：条、件"), len(cols) + 2)
    book.table(ws, 3, [("镇街代码", 12), ("镇街", 14)], cols, rows, (["", TOTAL], totals))
    ws.freeze_panes(5, 2)
    book.print_setup(ws, (3, 4), labels=2)


def _findings_sheet(book: _Book, data: ReportData, title: str) -> None:
    ws = book.wb.add_worksheet("问题处理")
    cols = [
        Col("raised", "新发现", "count", "本月"),
        Col("cleared_auto", "自动解除", "count", "本月"),
        Col("cleared_officer", "人工解除", "count", "本月"),
        Col("clear_requested", "待复核确认", "count", "本月"),
        Col("confirmed", "复核确认", "count", "本月"),
        Col("superseded", "新版本替代", "count", "本月"),
        Col("open_at_end", "月末未解决", "count", "月末"),
    ]
    f = data.findings.group_by("rule_id").agg(pl.col(c.key).sum() for c in cols).sort("rule_id")
    rows = [
        ([r["rule_id"], RULES[r["rule_id"]].title_zh if r["rule_id"] in RULES else ""], r)
        for r in f.iter_rows(named=True)
    ]
    totals = {c.key: f[c.key].sum() if f.height else 0 for c in cols}
    book.heading(ws, f"{title}——问题发现与解除", _subtitle(data, "    计数单位：条"), len(cols) + 2)
    book.table(ws, 3, [("规则", 8), ("问题", 30)], cols, rows, (["", TOTAL], totals))
    ws.freeze_panes(5, 2)
    book.print_setup(ws, (3, 4), labels=2)


def _inspection_sheet(book: _Book, data: ReportData, frame: pl.DataFrame, title: str) -> None:
    ws = book.wb.add_worksheet("入户抽查")
    cols = [
        Col("population", "抽查总体", "count", "入户抽查"),
        Col("sampled", "抽取样本", "count", "入户抽查"),
        Col("inspected", "已核查", "count", "入户抽查"),
        Col("not_true", "不属实", "count", "入户抽查"),
        Col("error_rate", "差错率", "rate", "结果"),
        Col("ci_low", "95%区间下限", "rate", "结果"),
        Col("ci_high", "95%区间上限", "rate", "结果"),
        Col("next_ratio", "下月抽查比例", "rate", "结果"),
    ]
    by_town: dict[str, dict] = {}
    if data.inspections.height:
        by_town = {r["town_code"]: r for r in data.inspections.iter_rows(named=True)}
    else:  # the program rows (zeros until the inspection mart exists)
        sums = frame.group_by("town_code").agg(
            pl.col("inspection_population").sum().alias("population"),
            pl.col("inspection_sampled").sum().alias("sampled"),
            pl.col("inspection_inspected").sum().alias("inspected"),
            pl.col("inspection_not_true").sum().alias("not_true"),
        )
        by_town = {r["town_code"]: r for r in sums.iter_rows(named=True)}
    rows = [([c, n], by_town.get(c, {})) for c, n in data.towns.select("town_code", "town_name").iter_rows()]
    totals = {
        k: sum((v.get(k) or 0) for _, v in rows) for k in ("population", "sampled", "inspected", "not_true")
    }
    totals["error_rate"] = district_row(data).get("inspection_error_rate")
    note = "" if data.inspections.height else "    （抽查结果尚未录入）"
    book.heading(
        ws, f"{title}——新批准案件入户抽查（抽查月份{data.period}）", _subtitle(data, note), len(cols) + 2
    )
    book.table(ws, 3, [("镇街代码", 12), ("镇街", 14)], cols, rows, (["", TOTAL], totals))
    ws.freeze_panes(5, 2)
    book.print_setup(ws, (3, 4), labels=2)


def rule_table(data: ReportData) -> pl.DataFrame:
    """Per rule, the district's month: rejected (versions and whole files, P and V rules), files,
    raised, cleared_auto, cleared_officer, confirmed, cleared (as the statistics' clearings) and
    open_at_end, with the rule's title."""
    ints = pl.Int64
    rejected = data.rejections.group_by("rule_id").agg(
        (pl.col("versions_rejected").sum() + pl.col("files_rejected").sum()).cast(ints).alias("rejected"),
        pl.col("files_rejected").sum().cast(ints).alias("files"),
    )
    keys = ("raised", "cleared_auto", "cleared_officer", "confirmed", "open_at_end")
    found = data.findings.group_by("rule_id").agg(pl.col(k).sum().cast(ints) for k in keys)
    if not rejected.height and not found.height:
        return pl.DataFrame()
    rules = pl.concat([rejected.select("rule_id"), found.select("rule_id")]).unique()
    out = rules.join(rejected, on="rule_id", how="left").join(found, on="rule_id", how="left").fill_null(0)
    return out.with_columns(
        cleared=pl.col("cleared_auto") + pl.col("cleared_officer") + pl.col("confirmed"),
        title=pl.col("rule_id").map_elements(
            lambda r: RULES[r].title_zh if r in RULES else "", return_dtype=pl.String
        ),
    ).sort("rule_id")


def budget_table(data: ReportData) -> pl.DataFrame:
    """Projected money per month and program, base and what-if (yuan), households and persons (base)."""
    b = data.budget
    if b.height == 0:
        return pl.DataFrame()
    return (
        b.group_by("scenario", "period", "program")
        .agg(pl.col("households").sum(), pl.col("persons").sum(), pl.col("money").sum())
        .sort("period", "program", "scenario")
    )


def _budget_sheet(book: _Book, data: ReportData, title: str) -> None:
    ws = book.wb.add_worksheet("预算预测")
    table = budget_table(data)
    cols: list[Col] = []
    for program, label in data.programs.select("program", "program_label").iter_rows():
        cols += [
            Col(f"{program}_h", "户数", "count", label),
            Col(f"{program}_p", "人数", "count", label),
            Col(f"{program}_m", "金额（现行标准）", "money", label),
            Col(f"{program}_w", "金额（标准提高）", "money", label),
        ]
    cols += [
        Col("all_m", "金额（现行标准）", "money", TOTAL),
        Col("all_w", "金额（标准提高）", "money", TOTAL),
    ]
    rows = []
    for period in sorted(set(table["period"].to_list())) if table.height else []:
        values: dict = {"all_m": Decimal("0"), "all_w": Decimal("0")}
        for r in table.filter(pl.col("period") == period).iter_rows(named=True):
            key = r["program"]
            if r["scenario"] == "base":
                values[f"{key}_h"], values[f"{key}_p"], values[f"{key}_m"] = (
                    r["households"],
                    r["persons"],
                    r["money"],
                )
                values["all_m"] += r["money"]
            else:
                values[f"{key}_w"] = r["money"]
                values["all_w"] += r["money"]
        rows.append(([period], values))
    # 12 months of money add up; households and persons of 12 months do not: left blank
    totals = {c.key: sum((v.get(c.key) or 0) for _, v in rows) if c.kind == "money" else BLANK for c in cols}
    what_if = data.budget.filter(pl.col("scenario") == "what_if")
    rise = ""
    if what_if.height:
        first = what_if.filter(pl.col("standard_rise") > 0).sort("period")
        if not first.height:
            rise = "；标准提高情形：已公布的标准提高已计入现行标准，不再另加"
        if first.height:
            parts = first.group_by("program").agg(pl.col("standard_rise").first()).sort("program")
            labels = dict(data.programs.select("program", "program_label").iter_rows())
            rise = "；假设自{}起标准提高：{}".format(
                first["period"][0], "，".join(f"{labels.get(p, p)}{v}元/人·月" for p, v in parts.iter_rows())
            )
    book.heading(
        ws,
        f"{title}——未来12个月资金需求预测（基数月{data.period}）",
        _subtitle(data, f"    趋势：近{TREND_MONTHS}个月{rise}"),
        len(cols) + 1,
    )
    book.table(ws, 3, [("月份", 10)], cols, rows, ([f"{TOTAL}（12个月）"], totals))
    ws.freeze_panes(5, 1)
    book.print_setup(ws, (3, 4), labels=1)
    # by payer
    r = 3 + 3 + len(rows) + 2
    ws.write_string(r, 0, "按支付主体（12个月合计，元）", book.sub)
    payer = data.budget.group_by("payer", "scenario").agg(pl.col("money").sum())
    names = dict(data.towns.select("town_code", "town_name").iter_rows())
    pcols = [Col("base", "现行标准", "money"), Col("what_if", "标准提高", "money")]
    prow = []
    for code in sorted(set(payer["payer"].to_list()), key=lambda p: (p != "bureau", p)):
        vals = {s: m for p, s, m in payer.iter_rows() if p == code}
        prow.append(([BUREAU if code == "bureau" else names.get(code, code)], vals))
    book.table(
        ws,
        r + 1,
        [("支付主体", 16)],
        pcols,
        prow,
        ([TOTAL], {k: sum((v.get(k) or 0) for _, v in prow) for k in ("base", "what_if")}),
        grouped=False,
    )


def _definitions_sheet(book: _Book, data: ReportData, title: str) -> None:
    ws = book.wb.add_worksheet("说明")
    ws.write_string(0, 0, f"{title}——指标说明", book.title)
    ws.write_string(
        1, 0, f"上线月份：{data.go_live}；本表由 jiuzhu 根据数据仓库统计表（mart）生成。", book.sub
    )
    for i, (name, text) in enumerate(DEFINITIONS, start=3):
        ws.write_string(i, 0, name, book.head)
        ws.write_string(i, 1, text, book.note)
        ws.set_row(i, 36)
    if data.before_go_live:
        ws.write_string(
            2, 0, f"上线前月份（{'、'.join(data.before_go_live)}）的统计不列入本报表及趋势。", book.sub
        )
    book.width(ws, 0, 0, 14)
    book.width(ws, 1, 1, 100)
    ws.freeze_panes(2, 0)
    book.print_setup(ws, None)


# ---------------------------------------------------------------- public edition


# the relations a reader of the public edition knows (its 说明 says so), besides the totals:
# last month's closing + new − exits = this month's closing; new ≤ closing (in either month),
# exits ≤ last month's closing, denials ≤ decisions. Last month's edition takes part with the
# two of its tables that these relations reach: its closing and its new households.
PRIOR = "@prior"
PRIOR_CLOSING = "households_closing" + PRIOR
PRIOR_NEW = "households_new" + PRIOR
PRIOR_MEASURES = {"households_closing": PRIOR_CLOSING, "households_new": PRIOR_NEW}
PUBLIC_LINKS = ({"households_closing": 1, PRIOR_CLOSING: -1, "households_new": -1, "households_exits": 1},)
PUBLIC_ORDERS = (
    ("households_new", "households_closing"),
    (PRIOR_NEW, PRIOR_CLOSING),
    ("households_exits", PRIOR_CLOSING),
    ("denials", "decisions"),
)


def read_public(path: Path, data: ReportData) -> pl.DataFrame:
    """The cells of a published public edition as printed: town_code (or 合计), program (or 合计),
    measure, shown (the figure as text, "<5" or "×")."""
    from python_calamine import CalamineWorkbook

    keys = {c.header: c.key for c in PUBLIC_MEASURES}
    programs = dict(data.programs.select("program_label", "program").iter_rows())
    book = CalamineWorkbook.from_path(str(path))
    out: list[tuple[str, str, str, str]] = []
    for name in book.sheet_names:
        if name != "汇总" and name != "分镇街合计" and name not in programs:
            continue
        rows = book.get_sheet_by_name(name).to_python()
        head = next(i for i, r in enumerate(rows) if any(v in keys for v in r))
        columns = {j: keys[v] for j, v in enumerate(rows[head]) if v in keys}
        for r in rows[head + 1 :]:
            if name == "汇总":
                town, program = TOTAL, programs.get(str(r[0]), TOTAL if r[0] == TOTAL else None)
            else:
                town = TOTAL if str(r[1]).startswith(TOTAL) else str(r[0])
                program = TOTAL if name == "分镇街合计" else programs[name]
            if program is None or not town:
                continue
            for j, key in columns.items():
                value = r[j]
                out.append((town, program, key, value if isinstance(value, str) else _number_text(value)))
    return pl.DataFrame(
        out,
        schema={"town_code": pl.String, "program": pl.String, "measure": pl.String, "shown": pl.String},
        orient="row",
    ).unique(maintain_order=True)


def _number_text(value) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else str(value)


def _with_totals(frame: pl.DataFrame) -> pl.DataFrame:
    """town_code, program, measure, value with the towns' and programs' totals added."""
    keys = ["measure"]
    by_town = (
        frame.group_by("town_code", *keys).agg(pl.col("value").sum()).with_columns(program=pl.lit(TOTAL))
    )
    by_program = (
        frame.group_by("program", *keys).agg(pl.col("value").sum()).with_columns(town_code=pl.lit(TOTAL))
    )
    grand = (
        frame.group_by(*keys)
        .agg(pl.col("value").sum())
        .with_columns(town_code=pl.lit(TOTAL), program=pl.lit(TOTAL))
    )
    parts = [frame, *(f.select(frame.columns) for f in (by_town, by_program, grand))]
    return pl.concat(parts, how="vertical_relaxed")


def _prior_truth(data: ReportData) -> pl.DataFrame:
    """Last month's closing households and, when the marts hold last month, its new households,
    per town and program with the totals (town_code, program, measure, value). The closing is
    this month's opening (期初 = 上月期末)."""
    towns = data.towns["town_code"].to_list()
    frame = period_frame(data).filter(pl.col("town_code").is_in(towns))
    if "households_opening" in frame.columns:
        opening = pl.col("households_opening").fill_null(0)
    else:  # the balance, when the marts give no opening
        opening = pl.col("households_closing") - pl.col("households_new") + pl.col("households_exits")
    parts = [
        frame.select("town_code", "program", pl.lit(PRIOR_CLOSING).alias("measure"), opening.alias("value"))
    ]
    before = data.stats.filter(
        (pl.col("period") == shift_period(data.period, -1)) & pl.col("town_code").is_in(towns)
    )
    if before.height:
        parts.append(
            before.select(
                "town_code",
                "program",
                pl.lit(PRIOR_NEW).alias("measure"),
                pl.col("households_new").fill_null(0).alias("value"),
            )
        )
    return _with_totals(pl.concat(parts, how="vertical_relaxed"))


def _all_printed(truth: pl.DataFrame) -> pl.DataFrame:
    return truth.filter(pl.col("measure") == PRIOR_CLOSING).with_columns(
        shown=pl.col("value").cast(pl.String)
    )


def prior_cells(home: Home, data: ReportData, threshold: int = 5) -> tuple[pl.DataFrame, str]:
    """Last month's closing and new households as the public saw them, for the relations with
    this month: town_code, program, measure, value (the true figure), shown (what was printed).

    What was printed comes from last month's public edition on disk. Without that file (or last
    month's statistics), or when the file no longer agrees with the warehouse, last month's
    closing is taken as printed in full (the attacker knowing most). Returns the cells and which
    of 'edition', 'missing' or 'disagrees' applied."""
    truth = _prior_truth(data)
    path = public_path(home, shift_period(data.period, -1))
    if not path.is_file() or PRIOR_NEW not in truth["measure"].to_list():
        return _all_printed(truth), "missing"
    printed = read_public(path, data).with_columns(
        pl.col("measure").replace_strict(PRIOR_MEASURES, default=None)
    )
    cells = truth.join(printed, on=["town_code", "program", "measure"], how="left")
    mark = primary_mark(threshold)
    agrees = (
        pl.when(pl.col("shown").is_null())
        .then(False)
        .when(pl.col("shown") == mark)
        .then(pl.col("value") < threshold)
        .when(pl.col("shown") == COMPLEMENT_MARK)
        .then(pl.col("value") >= threshold)
        .otherwise(pl.col("shown") == pl.col("value").cast(pl.String))
    )
    if not cells.select(agrees.all()).item():
        log.warning(
            "public edition %s: %s no longer agrees with the warehouse; its closing figures are taken as "
            "all printed",
            data.period,
            path.name,
        )
        return _all_printed(truth), "disagrees"
    return cells, "edition"


def public_cells(data: ReportData, threshold: int = 5, prior: pl.DataFrame | None = None) -> pl.DataFrame:
    """The public edition's figures per town (rows) and program (columns) with suppression
    decided across every published table and last month's edition (see transforms.suppression).
    `prior`: last month's cells as printed (prior_cells); None: its closing as if all printed."""
    frame = period_frame(data).filter(pl.col("town_code").is_in(data.towns["town_code"].to_list()))
    keys = [c.key for c in PUBLIC_MEASURES]
    if prior is None:
        prior = _all_printed(_prior_truth(data))
    frame = frame.select("town_code", "program", *keys, "households_paid")
    return crosstab_cells(
        frame,
        row="town_code",
        col="program",
        measures=keys,
        total_label=TOTAL,
        counts=[c.key for c in PUBLIC_MEASURES if c.kind == "count"],
        primary_from={"money_paid": "households_paid"},
        prior=prior.select("town_code", "program", "measure", "value", "shown"),
        links=PUBLIC_LINKS,
        orders=PUBLIC_ORDERS,
        threshold=threshold,
    )


def write_public(home: Home, data: ReportData, threshold: int = 5) -> tuple[Path, pl.DataFrame]:
    """统计月报_<YYYY-MM>_公开版.xlsx; returns the path and the cells (with what was hidden).
    Reads last month's public edition, when there is one, for what it printed."""
    prior, _how = prior_cells(home, data, threshold)
    cells = public_cells(data, threshold, prior)
    inherited = int(cells["inherited"].sum())
    if inherited:
        log.warning(
            "public edition %s: %d small counts are narrowed by last month's published figures whatever "
            "this edition hides (they stay <%d)",
            data.period,
            inherited,
            threshold,
        )
    path = public_path(home, data.period)
    tmp = atomic_target(path)
    book = _Book(tmp)
    title = f"{TITLE}（公开版，{_period_label(data.period)}）"
    lookup = {(r["town_code"], r["program"], r["measure"]): r for r in cells.iter_rows(named=True)}

    def shown(town: str, program: str, key: str):
        r = lookup[(town, program, key)]
        return r["shown"] if r["suppressed"] else r["value"]

    note = f"    {primary_mark(threshold)}：不足{threshold}；{COMPLEMENT_MARK}：为防止推算而隐藏"
    # 汇总: district by program
    ws = book.wb.add_worksheet("汇总")
    book.heading(ws, title, _subtitle(data, note), len(PUBLIC_MEASURES) + 1)
    programs = data.programs.select("program", "program_label").rows()
    rows = [([label], {c.key: shown(TOTAL, p, c.key) for c in PUBLIC_MEASURES}) for p, label in programs]
    book.table(
        ws,
        3,
        [("类别", 14)],
        PUBLIC_MEASURES,
        rows,
        ([TOTAL], {c.key: shown(TOTAL, TOTAL, c.key) for c in PUBLIC_MEASURES}),
        grouped=False,
    )
    ws.freeze_panes(4, 1)
    book.print_setup(ws, (3, 3), labels=1)
    # towns, all programs
    ws = book.wb.add_worksheet("分镇街合计")
    book.heading(ws, f"{title}——分镇街（各类别合计）", _subtitle(data, note), len(PUBLIC_MEASURES) + 2)
    towns = data.towns.select("town_code", "town_name").rows()
    rows = [
        ([code, name], {c.key: shown(code, TOTAL, c.key) for c in PUBLIC_MEASURES}) for code, name in towns
    ]
    book.table(
        ws,
        3,
        [("镇街代码", 12), ("镇街", 14)],
        PUBLIC_MEASURES,
        rows,
        (["", TOTAL], {c.key: shown(TOTAL, TOTAL, c.key) for c in PUBLIC_MEASURES}),
        grouped=False,
    )
    ws.freeze_panes(4, 2)
    book.print_setup(ws, (3, 3), labels=2)
    for program, label in programs:
        ws = book.wb.add_worksheet(label)
        book.heading(ws, f"{title}——{label}", _subtitle(data, note), len(PUBLIC_MEASURES) + 2)
        rows = [
            ([code, name], {c.key: shown(code, program, c.key) for c in PUBLIC_MEASURES})
            for code, name in towns
        ]
        book.table(
            ws,
            3,
            [("镇街代码", 12), ("镇街", 14)],
            PUBLIC_MEASURES,
            rows,
            (["", f"{TOTAL}（全区）"], {c.key: shown(TOTAL, program, c.key) for c in PUBLIC_MEASURES}),
            grouped=False,
        )
        ws.freeze_panes(4, 2)
        book.print_setup(ws, (3, 3), labels=2)
    ws = book.wb.add_worksheet("说明")
    ws.write_string(0, 0, f"{title}——说明", book.title)
    texts = [
        (
            "小数保护",
            f"户数、人数、件数不足{threshold}（含0）的显示为“{primary_mark(threshold)}”，相应发放金额显示为"
            f"“{COMPLEMENT_MARK}”。",
        ),
        (
            "防推算",
            f"为防止通过合计数、上月公开版期末户数（期初＋新增－退出＝期末）等已公布数据推算出被隐藏的数，"
            f"另有部分数据显示为“{COMPLEMENT_MARK}”（其中户数、人数、件数均不少于{threshold}）；"
            f"除下条情形外，依据本表和上月公开版推算任一被隐藏的数，其可能范围的宽度都不小于3。",
        ),
        (
            "跨月说明",
            f"上月已公布为{threshold}户以上、本月降至不足{threshold}户的，本月期末、新增、退出户数仍显示为"
            f"“{primary_mark(threshold)}”，但结合上月公开数可推出较小范围。",
        ),
        *[
            d
            for d in DEFINITIONS
            if d[0] in ("统计口径", "户数", "户数平衡", "人数", "发放金额", "审批件数", "合计")
        ],
    ]
    for i, (name, text) in enumerate(texts, start=2):
        ws.write_string(i, 0, name, book.head)
        ws.write_string(i, 1, text, book.note)
        ws.set_row(i, 36)
    book.width(ws, 0, 0, 14)
    book.width(ws, 1, 1, 100)
    ws.freeze_panes(2, 0)
    book.print_setup(ws, None)
    book.close()
    os.replace(tmp, path)
    return path, cells
