"""Every URL of the URL configuration, path converters and regex groups filled in."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import IntConverter, UUIDConverter
from django.urls.resolvers import RegexPattern, RoutePattern

ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*)\)")
LITERAL_ALTERNATIVES = re.compile(r"[\w-]+(\|[\w-]+)*")


@dataclass(frozen=True)
class Url:
    path: str
    name: str  # "namespace:name", or the route itself for unnamed patterns

    def __str__(self) -> str:
        return f"{self.path} ({self.name})"


def every_url(*, dummy: str = "1") -> list[Url]:
    """One concrete path per URL pattern, each checked to resolve to its own view.

    Converters and free regex groups get `dummy` (an existing pk makes admin change pages
    point at a real row); a group of literal alternatives gets its first alternative.
    """
    urls = list(_walk(get_resolver().url_patterns, prefix="/", namespace="", dummy=dummy))
    wrong = [
        url
        for url, callback in urls
        if resolve(url.path).func is not callback  # type: ignore[attr-defined]
    ]
    assert not wrong, f"these dummy paths resolve to another view: {wrong}"
    return [url for url, _ in urls]


def _walk(patterns, *, prefix: str, namespace: str, dummy: str):
    for pattern in patterns:
        path = prefix + _fill(pattern.pattern, dummy)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix=path, namespace=inner, dummy=dummy)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else str(pattern.pattern)
            yield Url(path, name), pattern.callback


def _fill(pattern, dummy: str) -> str:
    if isinstance(pattern, RoutePattern):
        converters = pattern.converters

        def value(match: re.Match) -> str:
            converter = converters[match["name"]]
            if isinstance(converter, UUIDConverter):
                return "00000000-0000-0000-0000-000000000000"
            if isinstance(converter, IntConverter):
                return dummy if dummy.isdigit() else "1"
            return dummy

        return ROUTE_PARAMETER.sub(value, str(pattern))
    if isinstance(pattern, RegexPattern):
        regex = str(pattern).removeprefix("^").removesuffix("$").removesuffix(r"\Z")

        def group(match: re.Match) -> str:
            body = match["body"]
            return body.split("|")[0] if LITERAL_ALTERNATIVES.fullmatch(body) else dummy

        filled = REGEX_GROUP.sub(group, regex)
        if re.search(r"[\\()\[\]*+?|^$]", filled):
            raise AssertionError(f"cannot build a path for the regex {regex!r}")
        return filled
    raise AssertionError(f"unknown pattern type {type(pattern).__name__}")
