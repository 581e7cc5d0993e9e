#!/usr/bin/env bash
# Audits every pinned dependency (requirements-hashed.lock) for known vulnerabilities with
# pip-audit, in a virtual environment of its own (.audit-tools, outside the bot's). --strict:
# a package that could not be audited fails the run as a vulnerability does, so that an
# unreachable advisory service never passes for "no known vulnerabilities".
# AUDIT_SERVICE=osv asks OSV instead of PyPI's JSON API.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.audit-tools
if [ ! -x "$tools/bin/pip-audit" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check pip-audit==2.10.1
fi
exec "$tools/bin/pip-audit" --strict --progress-spinner off --disable-pip \
  -s "${AUDIT_SERVICE:-pypi}" -r requirements-hashed.lock
