"""`jiuzhu init`: create a data home on purpose (SPEC §1, §8).

Besides `init`, only `demo`, `synth` and `restore` create a home; a flow run or
a command against a folder that is no home fails (a typo in --home never
becomes an empty warehouse). `init` makes the folders, the warehouse (migrated),
loads the reference tables, makes each town's return folder and applies the
file-permission policy (core/permissions.py) to everything in the home. On
an existing home it does the same again: brings the schema up to date, reloads
the reference tables and re-applies the permissions to every file.
"""

from __future__ import annotations

from pathlib import Path

from core import permissions
from core.home import HOME_MARKER, SYNTH_MANIFEST, Home, today_shanghai

# what a folder may already hold for `init` to make it a home (the layout of SPEC §1)
HOME_ENTRIES = frozenset(
    {
        "inbox",
        "registries",
        "reference",
        "out",
        "warehouse",
        "notify.yaml",
        "ground_truth.csv",
        HOME_MARKER,
        SYNTH_MANIFEST,
        ".jiuzhu-demo",
    }
)


class NotAHomeFolder(ValueError):
    """The folder holds other things: `init` would change their permissions."""


def init_home(root: Path) -> dict:
    """Create (or bring up to date) the data home at `root`; returns what it did, counts only."""
    from core.reference import load_reference
    from warehouse.audit import inputs_digest, recorded_run
    from warehouse.connection import open_warehouse
    from warehouse.reference_load import load_reference_tables

    home = Home(Path(root).expanduser().resolve())
    existed = home.is_home()
    if not existed and home.root.is_dir():
        other = sorted(p.name for p in home.root.iterdir() if p.name not in HOME_ENTRIES)
        if other:
            raise NotAHomeFolder(
                f"{home.root} is not empty and is no data home (it holds {', '.join(other[:3])}"
                f"{' …' if len(other) > 3 else ''}): choose a new or empty folder"
            )
    home.ensure()  # folders, each town's return folder, their permissions
    ref = load_reference(home.reference)
    groups = permissions.Groups.from_settings(ref.setting)
    with (
        open_warehouse(home, flow="init", ref=ref) as con,
        recorded_run(con, "init", today_shanghai(), inputs_digest([ref.fingerprint()]), {}) as (
            _run_id,
            summary,
        ),
    ):
        summary["reference_rows"] = sum(load_reference_tables(con, ref).values())
    summary["paths_secured"] = permissions.secure_tree(home.root, groups)
    summary["home"] = str(home.root)
    summary["created"] = not existed
    return summary
