"""Prefect flows: thin orchestration of transforms, checks, warehouse and notify.

Importing this package sets Prefect's environment defaults (see runtime.py)
before Prefect itself is imported.
"""

from flows.runtime import configure_environment

configure_environment()
