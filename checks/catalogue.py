"""Moved to transforms.catalogue (issue 15); this re-export goes once every importer uses it."""

from transforms.catalogue import *  # noqa: F403
