"""The core every layer stands on: the data home and its clock, the dated reference
tables, the file-permission policy and the workbench's accounts. Imports nothing of jiuzhu."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jiuzhu")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
