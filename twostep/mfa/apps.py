from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "twostep.mfa"
