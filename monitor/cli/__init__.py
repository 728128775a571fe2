"""The `fenghuo` command: one module per part of the pipeline, registered on one Typer app."""

from monitor.cli import analysis, briefs, drill, events, extract, reports, search, service, tokens  # noqa: F401  (importing registers the commands)
from monitor.cli.base import app

__all__ = ["app"]
