from django.urls import path
from django.views.generic import RedirectView

from . import views
from .webauthn import urls as webauthn_urls

app_name = "mfa"
urlpatterns = [
    path("settings/2fa/enable/", views.EnableView.as_view(), name="enable"),
    path("settings/2fa/setup/", views.SetupView.as_view(), name="setup"),
    path("settings/2fa/disable/", views.DisableView.as_view(), name="disable"),
    path(  # STAND-IN for core
        "settings/2fa/recovery-codes/",
        RedirectView.as_view(pattern_name="accounts:settings"),
        name="recovery_codes",
    ),
    *webauthn_urls.urlpatterns,
]
