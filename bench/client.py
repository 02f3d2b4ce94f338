"""A small HTTP/1.1 client for the benchmarks: keep-alive, a cookie jar per session, and
the CSRF token pulled from forms. Only ever pointed at 127.0.0.1."""

import http.client
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def csrf_token(self) -> str:
        match = CSRF_FIELD.search(self.body)
        if not match:
            raise ValueError("no CSRF token in the page")
        return match.group(1).decode()


@dataclass
class Session:
    """One browser: its own cookies, on a shared keep-alive connection."""

    conn: "Connection"
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        headers = {"Host": f"127.0.0.1:{self.conn.port}", "User-Agent": "twostep-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.conn.port}{path}"
            headers["Origin"] = f"http://127.0.0.1:{self.conn.port}"
        response = self.conn.send(method, path, body, headers)
        for name, value in response.headers_list:
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if val in ('""', "") or "max-age=0" in value.lower():
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = val.strip()
        return response.response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.request("POST", path, form)


@dataclass
class _Raw:
    response: Response
    headers_list: list[tuple[str, str]]


class Connection:
    """A keep-alive connection to 127.0.0.1:port that reconnects when the server closes it."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> _Raw:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout
                )
            try:
                self._conn.request(method, path, body=body, headers=headers)
                raw = self._conn.getresponse()
                data = raw.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
                continue
            except Exception:
                self.close()
                raise
            headers_list = raw.getheaders()
            if raw.getheader("connection", "").lower() == "close":
                self.close()
            return _Raw(
                Response(raw.status, {k.lower(): v for k, v in headers_list}, data), headers_list
            )
        raise RuntimeError("unreachable")

    def session(self) -> Session:
        return Session(self)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
