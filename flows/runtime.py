"""Environment defaults for Prefect and Great Expectations (ENGINEERING.md pitfalls).

Prefect starts a temporary API server in every process that runs a flow
without PREFECT_API_URL; on these machines that takes 13-21 s, close to its
20 s default timeout, so the timeout is raised. Analytics are off everywhere.
Explicit settings in the environment always win.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
}


def configure_environment() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
