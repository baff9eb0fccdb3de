"""The Great Expectations suites of the V-rules, built in code, and their Data Docs.

The business logic lives in transforms/vrules.py (pure Polars): one Boolean
result column per rule id. These suites assert those columns — one
expectation per rule id, carrying the rule id, our severity, whether it blocks
payment and the Chinese message template in its meta and notes — and the
structure of the data (types, value sets, regexes, uniqueness), and render
Data Docs into `<home>/out/validation/` for officers to browse.

Two batches per run, each at its rule's grain, so GX counts what the findings
count: `cases` (one row per case version: the case rules) and `members` (one
row per member row: V01, V10, V11, V14).

Pitfalls handled here (ENGINEERING.md, measured on GX 1.24):
- GX is imported lazily, only inside `_gx()`, with analytics and progress bars
  off; the import costs seconds and is measured apart.
- GX 1.x cannot read DuckDB: it validates pandas frames made from Polars
  through Arrow (`to_pandas(use_pyarrow_extension_array=True)`).
- GX's pandas engine copies the whole frame (every column) for each metric and
  fingerprints it by hashing every cell, so the frames it sees are narrow, text
  columns are dictionary-encoded (Polars Categorical) and keys are integers.
- GX's verdict is not ours: a failing warning fails GX's suite, so results are
  mapped to our severities and never fail a run.
- Data Docs show no personal data: the validated frames have no names, IDs,
  accounts or case numbers, and no sample of unexpected values is kept
  (partial_unexpected_count = 0).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from transforms.catalogue import RULES
from transforms.vrules import KEY, MEMBER_RULES, MESSAGE_TEMPLATES, VRULES, RuleResults

DATASOURCE = "jiuzhu"
SITE_NAME = "jiuzhu_validation"
GRAINS = ("cases", "members")
SUITE_NAMES = {"cases": "jiuzhu_case_rules", "members": "jiuzhu_member_rules"}
SEVERITY_TO_GX = {"error": "critical", "warning": "warning", "info": "info"}
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}

CASE_CODED = ("town", "program", "status", "decided_level")
MEMBER_CODED = ("relation",)

_GX: tuple | None = None
_IMPORT_SECONDS: float | None = None


_IMPORTING = threading.Lock()


def _gx():
    """Import Great Expectations once, quietly; returns (gx, expectations module)."""
    with _IMPORTING:
        return _GX or _import_gx()


def _import_gx():
    global _GX, _IMPORT_SECONDS
    if _GX is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        os.environ.setdefault("DO_NOT_TRACK", "1")
        started = time.perf_counter()
        import great_expectations as gx
        import great_expectations.expectations as gxe

        _IMPORT_SECONDS = time.perf_counter() - started
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        _GX = (gx, gxe)
    return _GX


def preload() -> None:
    """Import Great Expectations now (3 s), while something else is being waited for."""
    _gx()


def preload_in_background() -> threading.Thread:
    """Import Great Expectations on a thread of its own while the caller goes on (the cycle, during
    its ingest): the validate step then finds it imported, or waits for the import under way."""
    thread = threading.Thread(target=preload, name="gx-preload", daemon=True)
    thread.start()
    return thread


def import_seconds() -> float | None:
    """How long the first GX import took in this process (None before it)."""
    return _IMPORT_SECONDS


@dataclass(frozen=True)
class RuleExpectation:
    rule_id: str
    severity: str
    blocks_payment: bool
    title_zh: str
    message_zh: str

    @property
    def grain(self) -> str:
        return "members" if self.rule_id in MEMBER_RULES else "cases"

    @property
    def meta(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "blocks_payment": self.blocks_payment,
            "title_zh": self.title_zh,
            "message_template_zh": self.message_zh,
        }

    @property
    def notes(self) -> str:
        blocks = "，阻断发放" if self.blocks_payment else ""
        return f"{self.rule_id}（{SEVERITY_ZH[self.severity]}{blocks}）{self.title_zh}。消息模板：{self.message_zh}"


def rule_expectations() -> list[RuleExpectation]:
    """One per V-rule computed in transforms/vrules.py (no GX import needed)."""
    return [
        RuleExpectation(
            r, RULES[r].severity, RULES[r].blocks_payment, RULES[r].title_zh, MESSAGE_TEMPLATES[r]
        )
        for r in VRULES
    ]


def gx_frames(results: RuleResults) -> dict[str, pl.DataFrame]:
    """The frames GX validates: integer keys, dictionary-encoded codes, rule results.
    No names, IDs, accounts or case numbers."""
    cases = results.cases.select(
        pl.col(KEY).cast(pl.Int64),
        *[pl.col(c).cast(pl.Categorical) for c in CASE_CODED],
        pl.col("monthly_benefit_fen").cast(pl.Int64),
        *[pl.col(r).cast(pl.Boolean) for r in VRULES if r not in MEMBER_RULES],
    )
    members = results.members.select(
        pl.col(KEY).cast(pl.Int64),
        pl.col("source_row").cast(pl.Int64),
        *[pl.col(c).cast(pl.Categorical) for c in MEMBER_CODED],
        pl.col("covered").cast(pl.Boolean),
        *[pl.col(r).cast(pl.Boolean) for r in VRULES if r in MEMBER_RULES],
    )
    return {"cases": cases, "members": members}


@dataclass
class GxOutcome:
    """What the suites found, in our severities (GX's own verdict kept apart)."""

    run_name: str
    rows: dict[str, int] = field(default_factory=dict)
    gx_success: bool = True
    unexpected: dict[str, int] = field(default_factory=dict)  # rule id -> rows tripped
    failed_errors: list[str] = field(default_factory=list)
    failed_warnings: list[str] = field(default_factory=list)
    structure_failures: list[str] = field(default_factory=list)
    import_seconds: float | None = None
    validate_seconds: float = 0.0
    docs_index: str | None = None

    def summary(self) -> dict:
        """Counts only (safe for audit and Prefect)."""
        return {
            "gx_run": self.run_name,
            "gx_rows": dict(self.rows),
            "gx_success": self.gx_success,
            "gx_unexpected": dict(self.unexpected),
            "gx_failed_errors": sorted(self.failed_errors),
            "gx_failed_warnings": sorted(self.failed_warnings),
            "gx_structure_failures": list(self.structure_failures),
            "gx_validate_seconds": round(self.validate_seconds, 3),
            "gx_docs": self.docs_index,
        }


def _context(gx, site_dir: Path, results_dir: Path):
    """An ephemeral context whose validation results are files (so Data Docs list
    every run) and whose only Data Docs site is `site_dir`."""
    from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig

    memory = {"class_name": "InMemoryStoreBackend"}
    config = DataContextConfig(
        config_version=4,
        stores={
            "expectations_store": {"class_name": "ExpectationsStore", "store_backend": memory},
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(results_dir),
                },
            },
            "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": memory},
            "validation_definition_store": {
                "class_name": "ValidationDefinitionStore",
                "store_backend": memory,
            },
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(site_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def suite_expectations(gxe, value_sets: dict[str, list], grain: str) -> list:
    """The expectations of one grain's suite: structure first, then one per V-rule."""
    common = {"meta": {"kind": "structure"}, "severity": "warning"}
    if grain == "cases":
        structural = [
            gxe.ExpectColumnValuesToBeUnique(column=KEY, description="每个案件版本一行", **common),
            gxe.ExpectColumnValuesToBeOfType(column=KEY, type_="int", description="案件序号为整数", **common),
            gxe.ExpectColumnValuesToNotBeNull(column="town", description="镇街代码不为空", **common),
            gxe.ExpectColumnValuesToMatchRegex(column="town", regex=r"^\d{9}$", description="镇街代码为9位数字", **common),
            gxe.ExpectColumnMinToBeBetween(
                column="monthly_benefit_fen", min_value=0, description="月保障金额不为负", **common
            ),
        ]  # fmt: skip
        coded = CASE_CODED
    else:
        structural = [
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=[KEY, "source_row"], description="同一案件版本内行号唯一", **common
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="source_row", description="每行有原始行号", **common),
            gxe.ExpectColumnValuesToBeOfType(column="source_row", type_="int", description="原始行号为整数", **common),
            gxe.ExpectColumnValuesToBeInSet(
                column="covered", value_set=[True, False], description="是否保障对象为是或否", **common
            ),
        ]  # fmt: skip
        coded = MEMBER_CODED
    for column in coded:
        if column in value_sets:
            structural.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=column,
                    value_set=list(value_sets[column]),
                    description=f"{column}取值在代码表内",
                    **common,
                )
            )
    rules = [
        gxe.ExpectColumnValuesToBeInSet(
            column=rule.rule_id,
            value_set=[True],
            description=f"{rule.rule_id} {rule.title_zh}",
            notes=rule.notes,
            meta={"kind": "rule", **rule.meta},
            severity=SEVERITY_TO_GX[rule.severity],
        )
        for rule in rule_expectations()
        if rule.grain == grain
    ]
    return structural + rules


def value_sets_from_reference(ref) -> dict[str, list]:
    """Allowed values of the coded columns, from the reference tables."""
    sets: dict[str, list] = {"town": list(ref.town_codes), "program": ref["programs"]["program"].to_list()}
    for column in ("status", "decided_level", "relation"):
        values = sorted(set(ref.code_map(column).values()))
        if values:
            sets[column] = values
    return sets


def validate_results(
    results: RuleResults,
    *,
    site_dir: Path,
    results_dir: Path,
    run_name: str,
    value_sets: dict[str, list],
) -> GxOutcome:
    """Validate the rule results of one run with both suites, store the results
    (counts only) in `results_dir`, and update the Data Docs site in `site_dir`."""
    gx, gxe = _gx()
    started = time.perf_counter()
    site_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    context = _context(gx, site_dir, results_dir)
    source = context.data_sources.add_pandas(DATASOURCE)
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    outcome = GxOutcome(run_name=run_name)
    rendered: list = []  # the run's validation results and suites: their pages, then the index, once
    for grain, frame in gx_frames(results).items():
        suite = gx.ExpectationSuite(
            name=SUITE_NAMES[grain],
            meta={"notes": f"救助案件报送校验（{'每个案件版本一行' if grain == 'cases' else '每个成员一行'}）："
                  "数据结构检查与V01–V16规则；规则列为True表示通过，False表示发现问题，空表示不适用"},
        )  # fmt: skip
        for e in suite_expectations(gxe, value_sets, grain):
            suite.add_expectation(e)
        suite = context.suites.add(suite)
        batch = source.add_dataframe_asset(f"{grain}_rule_results").add_batch_definition_whole_dataframe(
            "whole"
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=grain, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"validate_{grain}",
                validation_definitions=[definition],
                actions=[],  # the Data Docs are built once for both grains, below
                result_format=RESULT_FORMAT,
            )
        )
        pdf = frame.to_pandas(use_pyarrow_extension_array=True)
        result = checkpoint.run(batch_parameters={"dataframe": pdf}, run_id=RunIdentifier(run_name=run_name))
        rendered += [*result.run_results, ExpectationSuiteIdentifier(name=suite.name)]
        outcome.rows[grain] = frame.height
        outcome.gx_success = outcome.gx_success and bool(result.success)
        for run_result in result.run_results.values():
            for r in run_result.results:
                meta = r.expectation_config.meta or {}
                if meta.get("kind") == "rule":
                    rule = meta["rule_id"]
                    outcome.unexpected[rule] = int((r.result or {}).get("unexpected_count") or 0)
                    if not r.success:
                        (
                            outcome.failed_errors if meta["severity"] == "error" else outcome.failed_warnings
                        ).append(rule)
                elif not r.success:
                    outcome.structure_failures.append(
                        r.expectation_config.description or r.expectation_config.type
                    )
    # one build for the run (an UpdateDataDocsAction per checkpoint rebuilt the index, which reads
    # every stored result, once per grain)
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=rendered, build_index=True)
    outcome.import_seconds = _IMPORT_SECONDS
    outcome.validate_seconds = time.perf_counter() - started
    outcome.docs_index = str(site_dir / "index.html")
    return outcome
