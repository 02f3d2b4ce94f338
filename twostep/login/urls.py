from django.urls import path

from . import views

app_name = "login"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.LoginCodeView.as_view(), name="code"),
    path("login/help/", views.LoginHelpView.as_view(), name="help"),
    path("welcome-back/", views.reenable, name="reenable"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("api/session/", views.session_status, name="session_status"),
]
