"""Hypothesis profiles of the fuzz suite.

The default profile keeps the test run short on a shared machine (``FUZZ_EXAMPLES`` examples
per property, 50 unless set); ``HYPOTHESIS_PROFILE=fuzz`` runs a thousand per property (a
long run before a release: ``HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest tests/fuzz``).
No deadline: the machine's load is not the code's fault; no example database in the tree.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SUPPRESSED = (HealthCheck.function_scoped_fixture, HealthCheck.too_slow)
"""The app fixture is shared by a property's examples on purpose: state piles up as it
would in a chat."""

settings.register_profile(
    "default",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=SUPPRESSED,
    database=None,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    max_examples=1000,
    deadline=None,
    suppress_health_check=SUPPRESSED,
    database=None,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
