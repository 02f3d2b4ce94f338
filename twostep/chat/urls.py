from django.urls import path

from . import views

app_name = "chat"
urlpatterns = [
    path("help/", views.help_page, name="help"),
    path("help/messages/", views.poll, name="poll"),
    path("support/chats/", views.support_inbox, name="support_inbox"),
    path("support/chats/<int:pk>/", views.support_conversation, name="support_conversation"),
    path("support/chats/<int:pk>/messages/", views.support_poll, name="support_poll"),
    path("support/chats/<int:pk>/open-case/", views.support_open_case, name="support_open_case"),
]
