"""The DuckDB warehouse (SPEC §7): migrations, the locked connection, loaders, audit.

Knows nothing of Prefect. Open it with `open_warehouse(home, flow=...)`; see
docs/warehouse.md for the layers and the tables.
"""

from warehouse.audit import finish_run, inputs_digest, record_event, recorded_run, start_run
from warehouse.connection import WarehouseBusy, WarehouseMissing, open_warehouse
from warehouse.migrate import MigrationError, migrate
from warehouse.reference_load import load_reference_tables

__all__ = [
    "MigrationError",
    "WarehouseBusy",
    "WarehouseMissing",
    "finish_run",
    "inputs_digest",
    "load_reference_tables",
    "migrate",
    "open_warehouse",
    "record_event",
    "recorded_run",
    "start_run",
]
