from django.urls import path

from . import recovery_views, regeneration_views, views
from .webauthn import urls as webauthn_urls

app_name = "mfa"
urlpatterns = [
    path("settings/2fa/enable/", views.EnableView.as_view(), name="enable"),
    path("settings/2fa/setup/", views.SetupView.as_view(), name="setup"),
    path("settings/2fa/disable/", views.DisableView.as_view(), name="disable"),
    path(
        "settings/2fa/recovery-codes/",
        recovery_views.recovery_codes_page,
        name="recovery_codes",
    ),
    path(
        "settings/2fa/recovery-codes/new/",
        regeneration_views.RegenerateView.as_view(),
        name="recovery_codes_new",
    ),
    path(
        "settings/2fa/recovery-codes/saved/",
        recovery_views.saved,
        name="recovery_codes_saved",
    ),
    *webauthn_urls.urlpatterns,
]
