"""The passkey assertion check, timed inside twostep's own process (run as a script with
DATABASE_URL set, by bench/passkey_check.py): `--n` accounts, each with a passkey played
by the tests' software authenticator, made here and removed at the end.

Three ways to touch one key row, each on rows nothing touched before, in shuffled order:
the whole server-side check of a passwordless answer (`assertions.check_passkey`: the
key's SELECT, the signature, then the challenge's conditional DELETE with the sign
count's conditional UPDATE, one statement on PostgreSQL), the signature verification
alone (`ceremonies.verify_assertion`), and
a bare single-row UPDATE. Medians in microseconds. Then the SQL statements of one
passkey login through the real views (the login page, the options, the answer).
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twostep.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402

from tests.authenticator import Authenticator, give_key  # noqa: E402
from twostep.accounts.models import User  # noqa: E402
from twostep.mfa.webauthn import assertions, ceremonies, challenges, config  # noqa: E402

WARM_UP = 10
PREFIX = "passkey-bench-"


def email(i: int) -> str:
    return f"{PREFIX}{i}@example.com"


def seed(n: int) -> list[tuple[User, Authenticator, int]]:
    User.objects.filter(email__startswith=PREFIX).delete()
    rp_id, origin = config.rp_id(), config.origin()
    seeded = []
    for i in range(n):
        user = User.objects.create_user(email(i), None, full_name=f"Passkey {i}")
        passkey = Authenticator(origin=origin, rp_id=rp_id)
        key = give_key(user, passkey, "Bench passkey")
        seeded.append((user, passkey, key.pk))
    return seeded


def prepared_answer(passkey: Authenticator):
    """A request whose session was given a passwordless challenge, and the passkey's answer."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.create()
    challenge = challenges.issue(session=session, purpose="passwordless", user=None)
    options = ceremonies.authentication_options(
        challenge=challenge, allow=[], user_verification=True
    )
    request = RequestFactory().post("/login/passkey/")
    request.session = session
    return request, passkey.get(options), challenge


def time_checks(seeded: list) -> dict:
    times: dict[str, list[float]] = {"check": [], "crypto": [], "bare": []}
    order = list(times) * (len(seeded) // 3)
    random.Random(len(seeded)).shuffle(order)
    warm_up = WARM_UP * len(times)
    order = list(times) * WARM_UP + order
    with connection.cursor() as cursor:
        for kind, (_user, passkey, key_pk) in zip(order, seeded, strict=False):
            request, answer, challenge = prepared_answer(passkey)
            t0 = time.perf_counter()
            if kind == "check":
                ok = assertions.check_passkey(request=request, credential=answer).check.accepted
            elif kind == "crypto":
                read = ceremonies.read_answer(answer)
                ceremonies.verify_assertion(
                    read,
                    challenge=challenge,
                    public_key=passkey.cose_public_key(),
                    require_user_verification=True,
                )
                ok = True
            else:
                cursor.execute("UPDATE mfa_securitykey SET sign_count = 0 WHERE id = %s", [key_pk])
                ok = cursor.rowcount == 1
            elapsed = time.perf_counter() - t0
            if not ok:
                raise SystemExit(f"{kind} refused for key {key_pk}")
            if warm_up:
                warm_up -= 1
            else:
                times[kind].append(elapsed)
    return {kind: statistics.median(values) * 1e6 for kind, values in times.items()}


def statements_per_login(passkey: Authenticator) -> dict:
    """The statements of each request of one passwordless login through the views."""
    client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0])
    counts: list[int] = []

    def counted(call):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connections["default"].execute_wrapper(counter):
            response = call()
        counts.append(count)
        return response

    counted(lambda: client.get("/login/", secure=True))
    options = counted(lambda: client.post("/login/passkey/options/", secure=True)).json()
    answer = passkey.get(options["publicKey"])
    done = counted(
        lambda: client.post(
            "/login/passkey/", {"credential": answer}, HTTP_ACCEPT="application/json", secure=True
        )
    )
    if done.status_code != 200:
        raise SystemExit(f"the counted passkey login failed: {done.content!r}")
    return {
        "login_page": counts[0],
        "options": counts[1],
        "answer": counts[2],
        "total": sum(counts),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=600)
    args = parser.parse_args()
    seeded = seed(args.n + 1)
    try:
        medians = time_checks(seeded[1:])
        sql = statements_per_login(seeded[0][1])
    finally:
        User.objects.filter(email__startswith=PREFIX).delete()
    print(
        json.dumps(
            {
                "n": args.n,
                "check_median_us": medians["check"],
                "crypto_median_us": medians["crypto"],
                "bare_update_median_us": medians["bare"],
                "statements": sql,
            }
        )
    )


if __name__ == "__main__":
    main()
