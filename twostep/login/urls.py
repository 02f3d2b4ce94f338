from django.urls import path

from . import passkeys, views

app_name = "login"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.LoginCodeView.as_view(), name="code"),
    path("login/help/", views.LoginHelpView.as_view(), name="help"),
    path("login/key/options/", passkeys.key_options, name="key_options"),
    path("login/key/", passkeys.key_login, name="key"),
    path("login/passkey/options/", passkeys.passkey_options, name="passkey_options"),
    path("login/passkey/", passkeys.passkey_login, name="passkey"),
    path("welcome-back/", views.reenable, name="reenable"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("api/session/", views.session_status, name="session_status"),
]
