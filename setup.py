"""Compiles the message catalogs as part of every build, editable installs included."""

from __future__ import annotations

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogs(build_py):
    """``build_py`` that first compiles ``locales/*/LC_MESSAGES/messages.po`` to ``.mo``."""

    def run(self) -> None:
        script = Path(__file__).resolve().parent / "scripts" / "compile_catalogs.py"
        runpy.run_path(str(script))["compile_catalogs"]()
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
