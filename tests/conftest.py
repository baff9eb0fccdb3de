"""Shared fixtures. Flow tests share one Prefect test harness per session
(starting Prefect's temporary server costs 10-20 s here)."""

from __future__ import annotations

from pathlib import Path

import pytest

import flows  # noqa: F401  - sets Prefect's environment defaults before Prefect is imported

# The tiers (ENGINEERING.md "Tests"): a test is marked by the folder it sits in.
#   unit       pure functions on small frames (hypothesis where inputs vary)
#   warehouse  I/O against a temporary warehouse, without Prefect
#   flows      whole Prefect flows, real subprocesses, kills
#   e2e        a real browser or a real Prefect server
TIERS = ("unit", "warehouse", "flows", "e2e")


def pytest_collection_modifyitems(items):
    for item in items:
        tier = next((p for p in Path(str(item.fspath)).parts if p in TIERS), None)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
