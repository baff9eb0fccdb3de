"""The towns' submission workbook, 救助台账模板.xlsx (issue 16): errors stop at the source.

Built from the reference tables only: the contract's headers in the template's order
(required ones marked), a drop-down list for every coded column, date checks on date
columns, ID and account cells as text of the right length, Chinese input messages, and
a 填表说明 sheet with the standards and limits in force on the day it is made.
`out/templates/<town_code>/救助台账模板.xlsx`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import polars as pl
import xlsxwriter

from core.files import atomic_target
from core.home import Home
from core.reference import Reference
from publish.files import FIXED_CREATED, display_width
from transforms.returns import column_letter as _column_letter
from transforms.submission import BOOL_FIELDS, DATE_FIELDS, FIELD_LABELS_ZH, REQUIRED_CELLS

TEMPLATE_NAME = "救助台账模板.xlsx"
DATA_ROWS = 2_000  # rows the checks cover (a town ledger sheet; more rows may be added below)
CODED = ("program", "status", "decided_level", "relation", "disability_type", "disability_grade", "schooling",
         "work_ability", "self_care")  # fmt: skip
HINTS = {
    "case_no": "本镇街自编的案件编号，同一案件各成员行相同",
    "town_code": "本镇街9位代码，只能报送本镇街的案件",
    "program": "从下拉列表选择",
    "status": "从下拉列表选择；停发、终止、作废也须报送",
    "decided_on": "批准、不予批准、停发、终止须填写",
    "publicity_from": "首次批准须公示不少于7天（全部保障对象未满18周岁的特困除外）",
    "monthly_benefit": "批准案件须填写，单位：元，含分类施保",
    "benefit_from": "年月，如2025-08；首次批准一般为审批次月",
    "account_no": "12至19位数字（农村存折账号亦可）",
    "account_holder": "按存折或银行卡上的户名填写",
    "id_no": "18位（旧15位亦可），末位X用大写",
    "relation": "每个案件有且只有1名户主",
    "covered": "是否计入保障人数",
    "monthly_income": "核实后的月收入，单位：元，无收入填0",
    "self_care": "特困人员必填",
}


def template_path(home: Home, town_code: str) -> Path:
    return home.out / "templates" / town_code / TEMPLATE_NAME


def instructions(ref: Reference, on: date) -> list[tuple[str, str]]:
    """(item, value) rows of 填表说明: the standards and limits in force on `on`."""
    rows: list[tuple[str, str]] = [("说明日期", on.isoformat())]
    standards = ref["standards"].filter(pl.col("effective_from") <= on).sort("effective_from")
    labels = {"dibao_urban": "城市低保标准（元/人·月）", "dibao_rural": "农村低保标准（元/人·月）",
              "tekun_basic": "特困人员基本生活标准（元/人·月）"}
    for kind, label in labels.items():
        hit = standards.filter(pl.col("standard") == kind)
        if hit.height:
            rows.append((label, f"{hit['amount'][-1]}（自{hit['effective_from'][-1]}起）"))
    for self_care in ("全护理", "半护理", "全自理"):
        care = ref["care_subsidies"].filter((pl.col("self_care") == self_care) & (pl.col("effective_from") <= on))
        if care.height:
            rows.append((f"特困照料护理补贴·{self_care}（元/人·月）", care.sort("effective_from")["amount"][-1]))
    extras = {"disability": "分类施保·残疾（元/人·月）", "severe": "分类施保·重度残疾、重病或高龄（元/人·月）",
              "schooling": "分类施保·学龄前或在校（元/人·月）"}
    for key, label in extras.items():
        hit = ref["classified_extras"].filter((pl.col("extra") == key) & (pl.col("effective_from") <= on))
        if hit.height:
            rows.append((label, hit.sort("effective_from")["amount"][-1]))
    limits = {"decision_dibao": "低保审批时限（工作日）", "decision_dibao_extended": "低保延期审批时限（工作日）",
              "decision_tekun": "特困审批时限（工作日）", "publicity_days": "公示期（天，含首尾）"}
    for key, label in limits.items():
        rows.append((label, str(ref.time_limit(key, on))))
    rows += [
        ("必填列", "、".join(FIELD_LABELS_ZH[f] for f in REQUIRED_CELLS) + "（表头红色）"),
        ("填写方式", "每个家庭成员一行，户信息在同一案件的各行重复且一致；日期如2025-03-25；金额以元为单位"),
        ("报送", "保存为xlsx后放入本镇街的报送文件夹，或在工作台上传；回执和问题清单在out/returns/本镇街代码/"),
    ]
    return rows


def write_template(home: Home, ref: Reference, town_code: str, on: date) -> Path:
    """Write one town's template; returns its path."""
    path = template_path(home, town_code)
    tmp = atomic_target(path)
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False})
    wb.set_properties({"created": FIXED_CREATED, "title": "救助台账模板"})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "valign": "top", "text_wrap": True})
    required = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "font_color": "#C00000", "border": 1,
                              "valign": "top", "text_wrap": True})
    text = wb.add_format({"num_format": "@"})
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("台账")
    fields = list(FIELD_LABELS_ZH)
    last = DATA_ROWS
    for c, field in enumerate(fields):
        header = FIELD_LABELS_ZH[field]
        ws.write_string(0, c, header, required if field in REQUIRED_CELLS else head)
        if field in REQUIRED_CELLS:
            ws.write_comment(0, c, "必填", {"author": "区民政局"})
        width = max(display_width(header) + 4, 12)
        if field in DATE_FIELDS:
            ws.set_column(c, c, width, day)
            ws.data_validation(1, c, last, c, {
                "validate": "date", "criteria": "between", "minimum": date(1900, 1, 1), "maximum": date(2100, 12, 31),
                "input_title": header, "input_message": HINTS.get(field, "日期，如2025-03-25"),
                "error_title": "日期有误", "error_message": "请填写日期，如2025-03-25"})
            continue
        ws.set_column(c, c, max(width, 20) if field in ("id_no", "account_no", "remark") else width, text)
        letter = _column_letter(c)
        if field in CODED or field in BOOL_FIELDS:
            values = list(ref.code_map("yes_no" if field in BOOL_FIELDS else field))
            ws.data_validation(1, c, last, c, {
                "validate": "list", "source": values, "input_title": header,
                "input_message": HINTS.get(field, "从下拉列表选择"), "error_title": f"{header}有误",
                "error_message": "请从下拉列表中选择：" + "、".join(values)})
        elif field == "town_code":
            ws.data_validation(1, c, last, c, {
                "validate": "list", "source": [town_code], "input_title": header, "input_message": HINTS[field],
                "error_title": "镇街代码有误", "error_message": f"本模板只用于镇街{town_code}"})
        elif field == "id_no":
            ws.data_validation(1, c, last, c, {
                "validate": "custom", "value": f"=OR(LEN({letter}2)=15,LEN({letter}2)=18)",
                "input_title": header, "input_message": HINTS[field], "error_title": "身份证号有误",
                "error_message": "身份证号应为18位（或旧15位），请按文本格式填写"})
        elif field == "account_no":
            ws.data_validation(1, c, last, c, {
                "validate": "custom",
                "value": f"=AND(LEN({letter}2)>=12,LEN({letter}2)<=19,ISNUMBER(--{letter}2))",
                "input_title": header, "input_message": HINTS[field], "error_title": "银行账号有误",
                "error_message": "银行账号应为12至19位数字"})
        elif field in ("monthly_benefit", "monthly_income"):
            ws.data_validation(1, c, last, c, {
                "validate": "decimal", "criteria": ">=", "value": 0, "input_title": header,
                "input_message": HINTS[field], "error_title": "金额有误", "error_message": "请填写不小于0的金额（元）"})
        elif field in HINTS:
            ws.data_validation(1, c, last, c, {"validate": "any", "input_title": header,
                                               "input_message": HINTS[field]})
    ws.freeze_panes(1, 2)
    ws.set_landscape()
    ws.set_paper(9)
    ws.repeat_rows(0)  # 37 columns: printed across pages at a readable size, the header on each
    notes = wb.add_worksheet("填表说明")
    notes.set_column(0, 0, 40)
    notes.set_column(1, 1, 90, wb.add_format({"text_wrap": True, "valign": "top"}))
    notes.write_string(0, 0, "项目", head)
    notes.write_string(0, 1, "内容", head)
    for r, (item, value) in enumerate(instructions(ref, on), start=1):
        notes.write_string(r, 0, item)
        notes.write_string(r, 1, str(value))
    notes.set_landscape()
    notes.fit_to_pages(1, 0)
    wb.close()
    os.replace(tmp, path)
    return path


def write_templates(home: Home, ref: Reference, on: date, town: str | None = None) -> list[Path]:
    """One template per town (or for `town` only, which must be one of the 21)."""
    if town is not None and town not in ref.town_codes:
        raise ValueError(f"{town} is not one of the district's town codes")
    return [write_template(home, ref, code, on) for code in ([town] if town else ref.town_codes)]
