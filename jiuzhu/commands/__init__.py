"""Sub-commands of `jiuzhu` that run no flow (they never import Prefect)."""
