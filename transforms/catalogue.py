"""The rule catalogue (SPEC §5): id, severity, payment blocking, how a version
is accepted, and the Chinese title a clerk sees. One row per rule id; every
finding, message and report refers back to it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: str  # error, warning, info
    blocks_payment: bool
    title_zh: str
    loads_version: bool = False  # an error that still loads the version (and holds payment)
    always_rejects: bool = False  # rejects even a 停发/终止/作废


RULES: dict[str, Rule] = {
    r.rule_id: r
    for r in [
        Rule("P01", "error", False, "文件无法打开或读取", always_rejects=True),
        Rule("P02", "error", False, "缺少必填列", always_rejects=True),
        Rule("P03", "error", False, "数据无法识别", always_rejects=True),
        Rule("V01", "error", False, "身份证号无效"),
        Rule("V02", "error", False, "镇街代码错误或与报送文件夹不符", always_rejects=True),
        Rule("V03", "error", False, "代码值不在规定范围"),
        Rule("V04", "error", False, "同一案件户信息不一致或户主不唯一"),
        Rule("V05", "error", False, "日期先后顺序错误"),
        Rule("V06", "error", False, "公示缺失或不足7天"),
        Rule("V07", "warning", False, "审批超过办理时限"),
        Rule("V08", "error", True, "镇街在获得审批权限前审批", loads_version=True),
        Rule("V09", "error", False, "月保障金额与核算金额不符"),
        Rule("V10", "error", False, "特困供养人员具有劳动能力"),
        Rule("V11", "error", False, "特困供养人员缺少自理能力评估"),
        Rule("V12", "error", True, "批准案件缺少银行账号", loads_version=True),
        Rule("V13", "warning", False, "起始发放月份不是审批次月"),
        Rule("V14", "error", False, "同一案件身份证号重复"),
        Rule("V15", "warning", False, "银行账号校验未通过"),
        Rule("V16", "warning", False, "审批前未报送核对"),
        Rule("X01", "error", False, "家庭成员已死亡"),
        Rule("X02", "error", False, "家庭成员名下有机动车"),
        Rule("X03", "error", False, "家庭拥有多套住房或商业用房"),
        Rule("X04", "error", False, "家庭成员为存续企业法定代表人或股东"),
        Rule("X05", "warning", False, "家庭成员为财政供养人员"),
        Rule("X06", "error", False, "家庭存款超过规定标准"),
        Rule("X07", "error", False, "核算养老金或失业金后人均收入达到保障标准"),
        Rule("X08", "error", True, "同一人在多个案件中享受保障"),
        Rule("X09", "warning", False, "同一银行账号用于多个在保案件"),
        Rule("X10", "warning", False, "申报无收入但有在职参保或公积金缴存"),
        Rule("M01", "warning", False, "低保家庭逾期未复核"),
        Rule("M02", "warning", False, "申请逾期未审批"),
        Rule("M03", "info", False, "特困人员逾期未年度核查"),
        Rule("S01", "error", False, "抽查核实情况不属实"),
        Rule("B01", "warning", True, "银行发放失败"),
    ]
}

EXIT_STATUSES = ("suspended", "terminated", "void")


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]


def rule_meta_frame():
    """The catalogue as a frame (rule_id, severity, blocks_payment, loads_version,
    always_rejects), for joining onto findings."""
    import polars as pl

    return pl.DataFrame(
        {
            "rule_id": list(RULES),
            "severity": [r.severity for r in RULES.values()],
            "blocks_payment": [r.blocks_payment for r in RULES.values()],
            "loads_version": [r.loads_version for r in RULES.values()],
            "always_rejects": [r.always_rejects for r in RULES.values()],
        }
    )
