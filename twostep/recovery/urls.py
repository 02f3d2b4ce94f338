from django.urls import path

from . import link_views, support_mail, views

app_name = "recovery"
urlpatterns = [
    path("recover/", views.request_recovery, name="request"),
    path("recover/sent/", views.request_sent, name="sent"),
    path("recover/confirm/", link_views.confirm, name="confirm_page"),
    path(
        "recover/confirm/<str:token>/", link_views.open_link, {"purpose": "confirm"}, name="confirm"
    ),
    path("recover/cancel/", link_views.cancel, name="cancel_page"),
    path("recover/cancel/<str:token>/", link_views.open_link, {"purpose": "cancel"}, name="cancel"),
    path("recover/cancel-pending/", link_views.cancel_pending, name="cancel_pending"),
    path("case/", link_views.case_page, name="case_page"),
    path("case/messages/", link_views.case_messages, name="case_messages"),
    path("case/<str:token>/", link_views.open_link, {"purpose": "access"}, name="case"),
    path("vouch/<int:pk>/", views.vouch, name="vouch"),
    path("support/", views.queue, name="queue"),
    path("support/cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("support/emails/", support_mail.failed_emails, name="failed_emails"),
    path("support/emails/<int:pk>/resend/", support_mail.resend_email, name="resend_email"),
    path(
        "support/cases/<int:pk>/messages/",
        views.support_case_messages,
        name="support_case_messages",
    ),
    path("support/cases/<int:pk>/<slug:action>/", views.case_action, name="support_case_action"),
]
