#!/usr/bin/env bash
# Installs what the tests need into .venv (pinned by requirements.lock, every file checked
# against its hash in requirements-hashed.lock), then runs every gate:
# ruff (lint and format check), mypy in strict mode, and the whole pytest suite on SQLite and
# on the local PostgreSQL, then `dataset check` on the curated dataset. Extra arguments go to
# pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Every dependency first, each checked against the sha256 of requirements-hashed.lock; then
# the bot itself, editable (pip hashes no editable install), which then finds them installed.
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  --require-hashes --no-deps -r requirements-hashed.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -c requirements.lock -e '.[test]'
.venv/bin/python scripts/compile_catalogs.py

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"
.venv/bin/mypy
echo "== pytest (${PYTEST_WORKERS:-4} workers)"
# The suite mostly waits (fake servers, subprocesses, rate limits in real time), so it runs in
# PYTEST_WORKERS processes (pytest-xdist; 0 runs it in this one), each with its own
# PostgreSQL database and temporary files.
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-4}" "$@"
if [ "${AUDIT:-}" = 1 ]; then
  echo "== pip-audit (AUDIT=1; needs the PyPI JSON API or OSV, see the README)"
  bash scripts/audit.sh
fi
echo "== dataset check (the curated calendar: 366 days, five languages, specific sources)"
.venv/bin/python -m bot dataset check
