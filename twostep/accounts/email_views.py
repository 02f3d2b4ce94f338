"""Profile → "Change email", the new address's confirmation link, and the "This wasn't me"
link of the new-browser email. (The old address's cancel link is recovery's: it opens a
support case.) Changing the email needs a recent "confirm it's you"; an address posted
after the window closed comes back filled in once the person has confirmed."""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views import View
from django.views.generic import FormView

from . import email_change, email_change_links, new_browser
from .confirmation import ConfirmItsYouMixin
from .forms import EmailChangeForm
from .models import User, normalize_email


class ChangeEmailView(LoginRequiredMixin, ConfirmItsYouMixin, FormView):
    template_name = "accounts/email_change.html"
    form_class = EmailChangeForm
    confirm_keep_fields = ("new_email",)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        pending = email_change.pending_for(cast(User, self.request.user))
        return super().get_context_data(pending=pending, **kwargs)

    def form_valid(self, form: EmailChangeForm) -> HttpResponse:
        new_email = form.cleaned_data["new_email"]
        try:
            sent = email_change.request_change(
                request=self.request, user=cast(User, self.request.user), new_email=new_email
            )
        except email_change.EmailChangeRefused as refused:
            form.add_error("new_email", str(refused))
            return self.form_invalid(form)
        if not sent:
            form.add_error(
                "new_email",
                gettext("Too many emails were sent to that address this hour: try again later."),
            )
            return self.form_invalid(form)
        messages.success(
            self.request,
            gettext(
                "We sent a link to %(email)s. Your address changes when you open it and "
                "press the button there."
            )
            % {"email": normalize_email(new_email)},
        )
        return redirect("accounts:profile")


def _invalid(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "accounts/email_link_invalid.html", {"message": message}, status=400)


class ConfirmEmailChangeView(View):
    """The link mailed to the new address shows a button (only while it can still act);
    only the POST acts, so mail scanners that open links change nothing."""

    def get(self, request: HttpRequest, pk: int, token: str) -> HttpResponse:
        change = email_change_links.find(pk=pk, token=token, purpose="confirm")
        if change is None or not email_change.usable(change):
            return _invalid(request, gettext("This link is invalid or no longer works."))
        return render(request, "accounts/email_change_confirm.html", {"change": change})

    def post(self, request: HttpRequest, pk: int, token: str) -> HttpResponse:
        change = email_change_links.find(pk=pk, token=token, purpose="confirm")
        if change is None:
            return _invalid(request, gettext("This link is invalid or no longer works."))
        try:
            email_change.confirm(request=request, change=change)
        except email_change.EmailChangeRefused as refused:
            return _invalid(request, str(refused))
        # Whoever is logged in to this browser (perhaps another account) is not the one
        # whose address changed: the page names only the address.
        return render(request, "accounts/email_change_done.html", {"change": change})


class NotMeView(View):
    """ "This wasn't me" from the new-browser email: a button, then every session signed out,
    the device cookies forgotten, and on to the password reset."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        if new_browser.user_for(token) is None:
            return _invalid(request, gettext("This link is invalid, expired or already used."))
        return render(request, "accounts/not_me.html")

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        user = new_browser.user_for(token)
        if user is None or not new_browser.sign_out_everywhere(
            request=request, user=user, token=token
        ):
            return _invalid(request, gettext("This link is invalid, expired or already used."))
        if request.user.pk == user.pk:  # this browser's session was ended with the others
            request.session.flush()
        messages.success(
            request,
            gettext(
                "Every session of your account is signed out. Now choose a new password: "
                "enter your email address to get a reset link."
            ),
        )
        return redirect("accounts:password_reset")
