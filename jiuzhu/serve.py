"""`jiuzhu serve`: serve every deployment of prefect.yaml on its schedule.

One source of truth: the deployments, schedules (Asia/Shanghai), parameters
and concurrency limits are read from prefect.yaml, so `jiuzhu serve` and
`prefect deploy --all` + a worker run the same thing. Schedules fire only
against a real Prefect server (`prefect server start`; PREFECT_API_URL set).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PREFECT_YAML = REPO / "prefect.yaml"


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict]:
    """The deployments of prefect.yaml, YAML anchors resolved."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))["deployments"]


def load_entrypoint(entrypoint: str):
    """'flows/ingest.py:ingest_flow' -> the flow object."""
    file, name = entrypoint.split(":")
    module = file.removesuffix(".py").replace("/", ".")
    return getattr(importlib.import_module(module), name)


def build_deployments(path: Path = PREFECT_YAML, home: str | None = None) -> list:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.client.schemas.schedules import CronSchedule

    deployments = []
    for spec in deployment_specs(path):
        flow = load_entrypoint(spec["entrypoint"])
        params = dict(spec.get("parameters") or {})
        if home:
            params["home"] = home
        limit = spec.get("concurrency_limit")
        deployments.append(
            flow.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                parameters=params,
                schedules=[CronSchedule(cron=s["cron"], timezone=s.get("timezone", "Asia/Shanghai"))
                           for s in spec.get("schedules") or []],
                concurrency_limit=ConcurrencyLimitConfig(
                    limit=limit["limit"], collision_strategy=ConcurrencyLimitStrategy(limit["collision_strategy"]))
                if isinstance(limit, dict) else limit,
            )
        )
    return deployments


class ServeClash(RuntimeError):
    """`jiuzhu serve` would take over deployments that `prefect deploy` made for a worker."""


def worker_deployments(names: list[str]) -> list[tuple[str, str]]:
    """Of the deployments `flow-name/deployment-name`, those the server already holds for a
    work pool (made by `prefect deploy`): (name, pool)."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async def look() -> list[tuple[str, str]]:
        found = []
        async with get_client() as client:
            for name in names:
                try:
                    got = await client.read_deployment_by_name(name)
                except ObjectNotFound:
                    continue
                if got.work_pool_name:
                    found.append((name, got.work_pool_name))
        return found

    return asyncio.run(look())


def serve(home: str | None = None) -> None:
    """Serve every deployment here. Refuses when `prefect deploy` already registered them for
    a worker: serving would take them over and drop their pull steps, and a run triggered
    from the UI would then crash looking for flow code "from storage at None"."""
    from flows.runtime import configure_environment

    configure_environment()  # Prefect's environment defaults, before Prefect is imported
    from prefect import serve as prefect_serve

    deployments = build_deployments(home=home)
    clashes = worker_deployments([f"{d.flow_name}/{d.name}" for d in deployments])
    if clashes:
        names = ", ".join(f"{n} (work pool {p})" for n, p in clashes)
        raise ServeClash(
            f"these deployments were registered by `prefect deploy` for a worker: {names}; run the worker "
            "(`prefect worker start --pool jiuzhu`) instead of `jiuzhu serve`, or delete them first "
            "(`prefect deployment delete NAME`) to serve them from this process (docs/operations.md)"
        )
    prefect_serve(*deployments)
