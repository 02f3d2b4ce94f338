from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from twostep.organizations.models import Membership
from twostep.text import refuse_control_characters

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

    def get_readonly_fields(self, request, obj=None):
        # Changing the address of an existing account would redirect its recovery emails
        # without audit or notice; only the add form sets it.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "email"] if obj is not None else readonly
