"""twostep's own settings for the benchmark server, plus the shared SQL counter on demand."""

import os

from twostep.settings import *  # noqa: F403
from twostep.settings import MIDDLEWARE

if os.environ.get("BENCH_COUNT_SQL", "") == "1":
    # Outermost, so it sees every statement of the request, the session save included.
    MIDDLEWARE = ["sqlcount.CountSQLMiddleware", *MIDDLEWARE]
