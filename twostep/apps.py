from django.contrib.admin.apps import AdminConfig


class TwostepAdminConfig(AdminConfig):
    default_site = "twostep.admin.TwostepAdminSite"
