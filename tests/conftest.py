"""Shared fixtures. Flow tests share one Prefect test harness per session
(starting Prefect's temporary server costs 10-20 s here)."""

from __future__ import annotations

import pytest

import flows  # noqa: F401  - sets Prefect's environment defaults before Prefect is imported


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
