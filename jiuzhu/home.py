"""Moved to core.home (issue 15); this re-export goes once every importer uses core."""

from core.home import *  # noqa: F403
from core.home import code_version  # noqa: F401
