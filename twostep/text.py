"""Text that may end up in an email header (a name in a subject, a display name) must be
one line: a CR or LF there makes Django refuse the whole message (BadHeaderError).

Below every app (it imports only Django), so any form that takes a name can use
`refuse_control_characters`: the recovery form, sign-up and the profile alike.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# C0 and C1 control characters, DEL, and Unicode's line and paragraph separators.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def refuse_control_characters(value: str) -> None:
    """A form validator: a clear error instead of a name that breaks an email."""
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            _("Use letters, spaces and punctuation only: no line breaks or control characters."),
            code="control_characters",
        )


def one_line(text: str) -> str:
    """`text` with every control character turned into a space, runs of spaces collapsed."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())
