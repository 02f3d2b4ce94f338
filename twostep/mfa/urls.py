from django.urls import path

from . import views
from .webauthn import urls as webauthn_urls

app_name = "mfa"
urlpatterns = [
    path("settings/2fa/enable/", views.EnableView.as_view(), name="enable"),
    path("settings/2fa/setup/", views.SetupView.as_view(), name="setup"),
    path("settings/2fa/disable/", views.DisableView.as_view(), name="disable"),
    *webauthn_urls.urlpatterns,
]
