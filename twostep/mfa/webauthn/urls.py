"""The Settings URLs of security keys; mfa/urls.py lists them in the mfa namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/2fa/keys/add/", views.KeyAddView.as_view(), name="key_add"),
    path(
        "settings/2fa/keys/add/options/", views.KeyAddOptionsView.as_view(), name="key_add_options"
    ),
    path("settings/2fa/keys/<int:pk>/rename/", views.KeyRenameView.as_view(), name="key_rename"),
    path("settings/2fa/keys/<int:pk>/remove/", views.KeyRemoveView.as_view(), name="key_remove"),
]
