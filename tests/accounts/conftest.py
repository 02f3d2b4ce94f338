"""Account fixtures: mailed links on TWOSTEP_SITE_URL."""

import pytest

from tests.helpers import SITE


@pytest.fixture(autouse=True)
def site_url(settings):
    """Mailed links are built on TWOSTEP_SITE_URL, whatever host the request came to."""
    settings.TWOSTEP_SITE_URL = SITE
