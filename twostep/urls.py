from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("twostep.accounts.urls")),
    path("", include("twostep.login.urls")),
    path("", include("twostep.mfa.urls")),
    path("", include("twostep.recovery.urls")),
    path("", include("twostep.chat.urls")),
    path("", include("twostep.support.urls")),
    path("admin/", admin.site.urls),
]
