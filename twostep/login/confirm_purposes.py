"""What "confirm it's you" is for, read from the page the person comes back to (`next`):
a short sentence per URL name, and whether Cancel may go back there.

A table, not a chain of ifs: a new gated page adds a line. Pages a person comes back
to are listed by their URL name; a POST-only view gated with `confirm_return_to` sends them
back to another page, whose line says it, unless it names itself in `confirm_purpose`
(EXPLICIT: the confirmation page gets it as `for`). A name missing from both (or a `next`
that resolves to nothing) gets the generic sentence of the page.
"""

from urllib.parse import urlsplit

from django.urls import Resolver404, ResolverMatch, resolve
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DECIDE = _("to decide about another person's account")
ADD_KEY = _("to add a security key or passkey")
SET_UP_APP = _("to set up an authenticator app")

PURPOSES: dict[str, Promise] = {
    "mfa:disable": _("to turn off two-factor authentication"),
    "accounts:password_change": _("to change your password"),
    "accounts:email_change": _("to change your email address"),
    # The list of sessions also lists the remembered browsers: ending and forgetting both
    # come back to it.
    "accounts:sessions": _("to end sessions or forget remembered browsers"),
    "mfa:key_add": ADD_KEY,
    "mfa:setup": SET_UP_APP,
    "mfa:key_remove": _("to remove a security key"),
    "mfa:recovery_codes_new": _("to generate new recovery codes"),
    "support:case_detail": DECIDE,
    "recovery:vouch": DECIDE,
}

# Named by the gated view itself (ConfirmItsYouMixin.confirm_purpose): it sends the person
# back to a page that does not say it (turning 2FA on comes back to Settings).
EXPLICIT: dict[str, Promise] = {
    "mfa:enable": SET_UP_APP,
}


def _match(next_url: str) -> ResolverMatch | None:
    try:
        return resolve(urlsplit(next_url).path or "/")
    except Resolver404:
        return None


def purpose(next_url: str, named: str = "") -> Promise | None:
    """The sentence ("to change your password") `named` by the gated view, else the one
    for the page at `next_url`, or None."""
    if named in EXPLICIT:
        return EXPLICIT[named]
    match = _match(next_url) if next_url else None
    if match is None:
        return None
    return PURPOSES.get(match.view_name)


def cancel_url(next_url: str, fallback: str) -> str:
    """Where Cancel goes: back to `next_url` (already checked safe) when it is a page a GET
    can show, else `fallback`."""
    match = _match(next_url) if next_url else None
    if match is None:
        return fallback
    view_class = getattr(match.func, "view_class", None)
    if view_class is not None and (
        "get" not in view_class.http_method_names or not hasattr(view_class, "get")
    ):
        return fallback
    return next_url
