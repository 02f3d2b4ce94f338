from django.urls import path

from . import views

app_name = "chat"
urlpatterns = [
    path("help/", views.help_page, name="help"),
    path("help/messages/", views.poll, name="poll"),
]
