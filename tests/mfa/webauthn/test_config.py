"""The relying party ID and origin come from TWOSTEP_SITE_URL (and TWOSTEP_WEBAUTHN_RP_ID)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.checks import ERROR, run_checks

from twostep.mfa.webauthn import config


@pytest.mark.parametrize(
    "site, origin, rp_id",
    [
        ("http://localhost:8000", "http://localhost:8000", "localhost"),
        ("https://Bpart.example/", "https://bpart.example", "bpart.example"),
        ("https://bpart.example:443/app/", "https://bpart.example", "bpart.example"),
        ("http://bpart.example:80", "http://bpart.example", "bpart.example"),
        ("https://id.bpart.example:8443", "https://id.bpart.example:8443", "id.bpart.example"),
    ],
)
def test_the_origin_and_rp_id_follow_the_site_url(settings, site, origin, rp_id):
    settings.TWOSTEP_SITE_URL = site
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""

    assert (config.origin(), config.rp_id()) == (origin, rp_id)


def test_the_rp_id_can_be_a_parent_domain(settings):
    settings.TWOSTEP_SITE_URL = "https://id.bpart.example"
    settings.TWOSTEP_WEBAUTHN_RP_ID = "bpart.example"

    assert (config.origin(), config.rp_id()) == ("https://id.bpart.example", "bpart.example")


def test_the_development_default_is_a_name_not_an_ip_address(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWOSTEP_")}
    env["TWOSTEP_VAR_DIR"] = str(tmp_path)
    shown = subprocess.run(
        [sys.executable, "-c", "from twostep import settings as s; print(s.TWOSTEP_SITE_URL)"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )

    assert shown.stdout.strip() == "http://localhost:8000"


@pytest.mark.parametrize(
    "site, rp_id, ok",
    [
        ("https://id.bpart.example", "", True),
        ("https://id.bpart.example", "id.bpart.example", True),
        ("https://id.bpart.example", "bpart.example", True),
        ("https://id.bpart.example", "BPART.example", True),
        ("https://id.bpart.example", "other.example", False),
        ("https://id.bpart.example", "example", False),
        ("https://id.bpart.example", "art.example", False),
        ("https://bpart.example", "id.bpart.example", False),
        ("http://localhost:8000", "localhost", True),
    ],
)
def test_a_system_check_refuses_an_rp_id_the_site_is_not_under(settings, site, rp_id, ok):
    settings.TWOSTEP_SITE_URL = site
    settings.TWOSTEP_WEBAUTHN_RP_ID = rp_id

    found = [m for m in run_checks() if m.id == "twostep.mfa.E001"]

    assert (found == []) == ok
    assert all(m.level == ERROR for m in found)
