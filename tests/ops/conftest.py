"""The operator's fixtures: ``run_cli`` (the installed command in a clean folder)."""

from tests.e2e.conftest import run_cli

__all__ = ["run_cli"]
