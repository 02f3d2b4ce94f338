from django.urls import path

from . import chat_views, emails, views

app_name = "support"
urlpatterns = [
    path("support/", views.queue, name="queue"),
    path("support/cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("support/cases/<int:pk>/messages/", views.case_messages, name="case_messages"),
    path("support/cases/<int:pk>/<slug:action>/", views.case_action, name="case_action"),
    path("support/emails/", emails.failed_emails, name="failed_emails"),
    path("support/emails/<int:pk>/resend/", emails.resend_email, name="resend_email"),
    path("support/chats/", chat_views.inbox, name="inbox"),
    path("support/chats/<int:pk>/", chat_views.conversation, name="conversation"),
    path("support/chats/<int:pk>/messages/", chat_views.poll, name="poll"),
    path("support/chats/<int:pk>/open-case/", chat_views.open_case, name="open_case"),
]
