from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db import transaction

from twostep.organizations.models import Membership
from twostep.text import refuse_control_characters

from . import devices, remembered, services
from .models import User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organization"]


class OneLineName(forms.BaseForm):
    """The name ends up in email headers: refuse control characters with a clear error."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["full_name"].validators.append(refuse_control_characters)


class AdminUserCreationForm(OneLineName, UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class AdminUserChangeForm(OneLineName, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = AdminUserCreationForm
    form = AdminUserChangeForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "full_name", "password"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]}),
    ]

    def save_model(self, request, obj, form, change):
        """Granting staff forgets the account's remembered browsers (staff must prove a
        factor at every login), recorded with the agent as actor, in the admin's
        transaction, before the save (the rows are still the account's live ones)."""
        if change and "is_staff" in form.changed_data and obj.is_staff:
            remembered.forget_all(
                user=obj, request=request, reason="made staff", actor=request.user
            )
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        # Changing the address of an existing account would redirect its recovery emails
        # without audit or notice; only the add form sets it.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "email"] if obj is not None else readonly

    def user_change_password(self, request, id, form_url=""):
        """Django's page, and in its transaction what the site's own change does
        (services.record_password_change: audited, mailed, remembered browsers, trusted
        devices and other sessions forgotten) once the password changed, recorded with the
        agent as actor. Another person's password set here ends all their sessions, as a
        reset does; an agent's own keeps this browser, as in Settings."""
        with transaction.atomic():
            user = self.get_object(request, unquote(id))
            before = user.password if user is not None else None
            response = super().user_change_password(request, id, form_url)
            if user is None or request.method != "POST":
                return response
            user.refresh_from_db(fields=["password"])
            if user.password == before:  # refused, or nothing saved
                return response
            own = user.pk == request.user.pk
            services.record_password_change(
                request=request, user=user, by_reset=not own, in_admin=True
            )
        if own:
            devices.set_cookie(request=request, response=response)
        return response
