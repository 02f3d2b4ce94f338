from django.urls import path

from . import confirm, passkeys, views

app_name = "login"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.LoginCodeView.as_view(), name="code"),
    path("login/help/", views.LoginHelpView.as_view(), name="help"),
    path("login/key/options/", passkeys.key_options, name="key_options"),
    path("login/key/", passkeys.key_login, name="key"),
    path("login/passkey/options/", passkeys.passkey_options, name="passkey_options"),
    path("login/passkey/", passkeys.passkey_login, name="passkey"),
    path("confirm/", confirm.ConfirmView.as_view(), name="confirm"),
    path("confirm/key/options/", confirm.key_options, name="confirm_key_options"),
    path("confirm/key/", confirm.confirm_key, name="confirm_key"),
    path("welcome-back/", views.reenable, name="reenable"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("api/session/", views.session_status, name="session_status"),
]
