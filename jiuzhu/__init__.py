"""jiuzhu (救助): the district bureau's data pipeline for dibao and tekun."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jiuzhu")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
