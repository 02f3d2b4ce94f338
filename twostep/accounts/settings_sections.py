"""The sections that apps above accounts add to the Settings page.

The page belongs to accounts (floor 2), but most of what it shows is owned higher up: the
two-factor section today, passkeys, remembered browsers and sessions next. Rather than
move the page above all of them, accounts offers this hook: an app registers a template in
its AppConfig.ready(), and the page includes it where the sections go, with the page's
context (`user`, `request`, the CSRF token). The template loads whatever it shows through
its own app's template tags, so accounts imports nothing of it.
"""

_templates: list[str] = []


def add_section(template_name: str) -> None:
    """Show the template `template_name` on the Settings page, after those added before."""
    if template_name not in _templates:
        _templates.append(template_name)


def sections() -> tuple[str, ...]:
    """The templates of the added sections, in the order they were added."""
    return tuple(_templates)
