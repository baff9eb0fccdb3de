"""Moved to core.reference (issue 15); this re-export goes once every importer uses core."""

from core.reference import *  # noqa: F403
