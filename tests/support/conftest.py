"""The console's tests drive recovery cases: the recovery fixtures (the locked-out person,
the agents, the manager, cases in each state), shared from tests/recovery/conftest.py."""

from tests.recovery.conftest import (  # noqa: F401 - fixtures, registered by import
    ada,
    agent,
    approved_case,
    case,
    charles,
    checked_case,
    grace,
    hedy,
    site_url,
    verified_case,
)
