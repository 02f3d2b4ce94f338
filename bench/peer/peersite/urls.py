from django.urls import include, path
from two_factor.urls import urlpatterns as tf_urls

from . import views

urlpatterns = [
    path("", include(tf_urls)),  # the login wizard at /account/login/
    path("auth-page/", views.auth_page, name="auth-page"),
    path("bare/", views.bare, name="bare"),
]
