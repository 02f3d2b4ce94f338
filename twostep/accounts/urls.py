from django.urls import path

from . import email_views, remembered_views, session_views, views

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("settings/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("profile/email/", email_views.ChangeEmailView.as_view(), name="email_change"),
    path(
        "email/confirm/<int:pk>/<str:token>/",
        email_views.ConfirmEmailChangeView.as_view(),
        name="email_change_confirm",
    ),
    path("not-me/<str:token>/", email_views.NotMeView.as_view(), name="not_me"),
    path("settings/sessions/", session_views.SessionsView.as_view(), name="sessions"),
    path("settings/sessions/end/", session_views.EndSessionView.as_view(), name="end_session"),
    path(
        "settings/sessions/end-others/",
        session_views.EndOtherSessionsView.as_view(),
        name="end_other_sessions",
    ),
    path(
        "settings/sessions/forget-browser/",
        remembered_views.ForgetRememberedView.as_view(),
        name="forget_remembered",
    ),
    path(
        "settings/sessions/forget-browsers/",
        remembered_views.ForgetAllRememberedView.as_view(),
        name="forget_all_remembered",
    ),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("healthz", views.health, name="health"),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path(
        "signup/confirm/<uidb64>/<token>/", views.SignupConfirmView.as_view(), name="signup_confirm"
    ),
]
