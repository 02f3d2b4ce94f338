from django.apps import AppConfig


class LoginConfig(AppConfig):
    name = "twostep.login"
