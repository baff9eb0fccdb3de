"""jiuzhu (救助): the district bureau's data pipeline for dibao and tekun. This package is
the top floor: the command line, the demo and `serve` (docs/architecture.md)."""

from core import __version__  # noqa: F401 - the package's version, for `jiuzhu --version`
