from django.urls import path

from . import views

app_name = "recovery"
urlpatterns = [
    path("recover/", views.request_recovery, name="request"),
    path("recover/sent/", views.request_sent, name="sent"),
    path("recover/confirm/<str:token>/", views.confirm, name="confirm"),
    path("recover/cancel/<str:token>/", views.cancel, name="cancel"),
    path("recover/cancel-pending/", views.cancel_pending, name="cancel_pending"),
    path("case/<str:token>/", views.case_page, name="case"),
    path("case/<str:token>/messages/", views.case_messages, name="case_messages"),
    path("welcome-back/", views.reenable, name="reenable"),
    path("vouch/<int:pk>/", views.vouch, name="vouch"),
    path("support/", views.queue, name="queue"),
    path("support/cases/<int:pk>/", views.case_detail, name="case_detail"),
    path(
        "support/cases/<int:pk>/messages/",
        views.support_case_messages,
        name="support_case_messages",
    ),
    path("support/cases/<int:pk>/<slug:action>/", views.case_action, name="support_case_action"),
]
