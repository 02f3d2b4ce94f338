from django.urls import path

from . import email_change, link_views, views

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
    path(
        "email/cancel/<int:pk>/<str:token>/",
        email_change.cancel_view,
        name="email_change_cancel",
    ),
]
