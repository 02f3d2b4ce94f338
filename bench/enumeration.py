"""Known against unknown addresses: does a form answer slower for an address that exists?

For each form (login with a wrong password, password reset, sign-up, the recovery form, and
the inbound SMTP listener when its port is given) it sends `--requests` requests for known
addresses and as many for unknown ones, interleaved pair by pair in random order, and prints
the median time of each and their difference (target: within 2 ms).

Every request uses an address not used before by that form and its own client address in
X-Forwarded-For, so no throttle or hourly limit decides the answer: run the server with
TWOSTEP_TRUSTED_PROXIES=1. Known addresses are `--known` formatted with an account number
(the bench's seeded accounts by default). Only 127.0.0.1 is ever contacted.

    python bench/enumeration.py http://127.0.0.1:8000 [--smtp-port 2525] [--requests 200]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
TARGET_MS = 2.0
WRONG = "not the password, for the bench"
NEW_PASSWORD = "a fresh bench passphrase 7"


class Site:
    """Form posts to one local server, each from a fresh browser and its own address."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.hostname != "127.0.0.1":
            raise SystemExit("enumeration: only http://127.0.0.1:<port> may be measured")
        self.port = parts.port or 80
        self._ips = random.randrange(1 << 20)

    def next_ip(self) -> str:
        self._ips += 1
        n = self._ips
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    def _send(self, conn, method: str, path: str, body: bytes | None, headers: dict):
        conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{self.port}", **headers})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()

    def available(self, path: str) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            return self._send(conn, "GET", path, None, {})[0] == 200
        finally:
            conn.close()

    def post_ms(self, path: str, fields: dict[str, str]) -> float:
        """GET the form (cookie and CSRF token), then time the POST alone, in ms."""
        ip = self.next_ip()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        status, headers, page = self._send(conn, "GET", path, None, {"X-Forwarded-For": ip})
        conn.close()
        cookies = "; ".join(
            value.split(";", 1)[0] for name, value in headers if name.lower() == "set-cookie"
        )
        token = CSRF.search(page)
        if status != 200 or token is None:
            raise RuntimeError(f"GET {path} answered {status} without a form")
        body = urlencode({"csrfmiddlewaretoken": token[1].decode(), **fields}).encode()
        origin = f"http://127.0.0.1:{self.port}"
        post_headers = {
            "Cookie": cookies,
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": origin + path,
            "X-Forwarded-For": ip,
        }
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.connect()
        started = time.perf_counter()
        status, _, _ = self._send(conn, "POST", path, body, post_headers)
        elapsed = (time.perf_counter() - started) * 1000
        conn.close()
        if status >= 500:
            raise RuntimeError(f"POST {path} answered {status}")
        return elapsed


def smtp_ms(port: int, sender: str, support: str) -> float:
    """Time one recovery email through the SMTP listener, the connection already open."""
    message = (
        f"From: Bench Person <{sender}>\r\nTo: {support}\r\nSubject: I lost my phone\r\n\r\n"
        "Name: Bench Person\r\nOrganizations: Bench Org\r\n\r\nMy phone fell in the sea.\r\n"
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        started = time.perf_counter()
        smtp.sendmail(sender, [support], message.encode())
        return (time.perf_counter() - started) * 1000


def forms(site: Site) -> dict[str, tuple[str, Callable[[str], dict[str, str]]]]:
    """Each form: its path and the fields sent for an address. Sign-up goes last, since it
    creates the accounts of the unknown addresses it is sent."""
    return {
        "login": ("/login/", lambda email: {"email": email, "password": WRONG}),
        "password reset": ("/password-reset/", lambda email: {"email": email}),
        "recovery form": (
            "/recover/",
            lambda email: {
                "email": email,
                "full_name": "Bench Person",
                "organizations": "Bench Org",
                "explanation": "My phone fell in the sea.",
            },
        ),
        "sign-up": (
            "/signup/",
            lambda email: {
                "email": email,
                "full_name": "Bench Person",
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        ),
    }


def compare(measure: Callable[[str], float], known: list[str], unknown: list[str]) -> dict:
    """Interleave known and unknown (random order in each pair); medians in ms."""
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for pair in zip(known, unknown, strict=True):
        order = [("known", pair[0]), ("unknown", pair[1])]
        random.shuffle(order)
        for kind, email in order:
            times[kind].append(measure(email))
    k, u = statistics.median(times["known"]), statistics.median(times["unknown"])
    # Also the median of the differences within each pair: steadier on a loaded machine.
    paired = statistics.median(a - b for a, b in zip(times["known"], times["unknown"], strict=True))
    return {"known_ms": k, "unknown_ms": u, "diff_ms": k - u, "paired_ms": paired, "n": len(known)}


def measure(
    url: str,
    *,
    requests: int = 200,
    known: str = "bench{}@example.com",
    first: int = 0,
    smtp_port: int | None = None,
    support: str = "support@bpart.com",
    log: Callable[[str], None] = print,
) -> list[dict]:
    """One result per form: medians of known and unknown addresses and their difference."""
    site = Site(url)
    run = uuid.uuid4().hex[:8]
    known_addresses = [known.format(first + i) for i in range(requests)]
    unknown_addresses = [f"nobody-{run}-{i}@example.com" for i in range(requests)]
    for i in range(10):  # warm up the workers (connections, the dummy hash)
        site.post_ms("/login/", {"email": f"warm-{run}-{i}@example.com", "password": WRONG})
    results = []
    measures: list[tuple[str, Callable[[str], float]]] = []
    for name, (path, fields) in forms(site).items():
        if site.available(path):
            measures.append((name, lambda email, p=path, f=fields: site.post_ms(p, f(email))))
        else:
            log(f"enumeration: {name}: {path} is not served, skipped")
    if smtp_port:
        measures.append(("SMTP listener", lambda email: smtp_ms(smtp_port, email, support)))
    measures.sort(key=lambda m: m[0] == "sign-up")  # it turns unknown addresses into accounts
    for name, timed in measures:
        result = {"form": name, **compare(timed, known_addresses, unknown_addresses)}
        results.append(result)
        log(row_text(result))
    return results


def row_text(r: dict) -> str:
    verdict = "ok" if abs(r["diff_ms"]) <= TARGET_MS else "over"
    return (
        f"{r['form']:<15} known {r['known_ms']:8.2f} ms  unknown {r['unknown_ms']:8.2f} ms  "
        f"known − unknown {r['diff_ms']:+7.2f} ms (paired {r['paired_ms']:+.2f})  "
        f"({r['n']} each; ≤ {TARGET_MS:g} ms: {verdict})"
    )


@contextmanager
def smtp_listener(env: dict[str, str], python: str = sys.executable) -> Iterator[int]:
    """The inbound SMTP listener on a free 127.0.0.1 port, stopped on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [python, str(ROOT / "manage.py"), "support_smtp_server", "--host", "127.0.0.1"]
    errors = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [*argv, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=errors
    )
    try:
        deadline = time.monotonic() + 30
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                errors.seek(0)
                raise RuntimeError(f"SMTP listener did not start: {errors.read()[-2000:]!r}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)
        errors.close()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def in_make_bench(deployment, *, requests: int, workers: int, log: Callable[[str], None]) -> list:
    """For bench/run.py: serve `deployment` (its seeded bench accounts are the known
    addresses) behind a pretend proxy, with the SMTP listener beside it, and measure."""
    os.environ["TWOSTEP_TRUSTED_PROXIES"] = "1"  # each request its own X-Forwarded-For
    try:
        with deployment.serve(workers) as server, smtp_listener(deployment.env()) as smtp_port:
            url = f"http://127.0.0.1:{server.port}"
            return measure(url, requests=requests, smtp_port=smtp_port, log=log)
    finally:
        del os.environ["TWOSTEP_TRUSTED_PROXIES"]


def rows(found: list) -> list[tuple[str, str, str, str]]:
    """bench/run.py's report rows: the difference of the medians, per form."""
    return [
        (
            f"enumeration: {r['form']}, known − unknown median ms",
            f"{r['diff_ms']:+.2f}",
            "",
            f"≤ {TARGET_MS:g} ms ({r['known_ms']:.1f} vs {r['unknown_ms']:.1f})",
        )
        for r in found
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="http://127.0.0.1:<port> of a running twostep")
    parser.add_argument("--requests", type=int, default=200, help="per kind and form")
    parser.add_argument("--known", default="bench{}@example.com", help="known address format")
    parser.add_argument("--first", type=int, default=0, help="first known account number")
    parser.add_argument("--smtp-port", type=int, help="the support SMTP listener, if running")
    parser.add_argument("--support", default="support@bpart.com", help="the support address")
    args = parser.parse_args()
    measure(
        args.url,
        requests=args.requests,
        known=args.known,
        first=args.first,
        smtp_port=args.smtp_port,
        support=args.support,
    )


if __name__ == "__main__":
    main()
