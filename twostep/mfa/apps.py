from django.apps import AppConfig
from django.core import checks

# Hooks of accounts: plain registries, no models (this module loads before the models do).
from twostep.accounts import settings_sections, user_relations

from .webauthn import config as webauthn_config


class MfaConfig(AppConfig):
    name = "twostep.mfa"

    def ready(self) -> None:
        # Nearly every page asks whether the person has 2FA on: the two-factor state (and
        # the authenticator, for the code step) come with the user in the session's one
        # query and at the password step.
        user_relations.load_with_user("totp_device")
        user_relations.load_with_user("mfa_state")
        settings_sections.add_section("mfa/settings_section.html")
        checks.register(webauthn_config.check_rp_id)
