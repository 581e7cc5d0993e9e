#!/usr/bin/env bash
# Installs what the tests need into .venv (pinned by requirements.lock), then runs every gate:
# ruff (lint and format check), mypy in strict mode, and the whole pytest suite on SQLite and
# on the local PostgreSQL, then `dataset check` on the curated dataset. Extra arguments go to
# pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -c requirements.lock -e '.[test]'
.venv/bin/python scripts/compile_catalogs.py

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
echo "== dataset check (the curated calendar: 366 days, five languages, specific sources)"
.venv/bin/python -m bot dataset check
