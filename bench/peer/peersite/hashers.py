"""Django's argon2 hasher with the cost taken from BENCH_ARGON2, like twostep's bench."""

import os

from django.contrib.auth.hashers import Argon2PasswordHasher


def argon2_params() -> tuple[int, int, int]:
    """BENCH_ARGON2="time_cost,memory_cost_kib,parallelism"; Django's defaults otherwise."""
    raw = os.environ.get("BENCH_ARGON2", "").strip()
    if not raw:
        return (
            Argon2PasswordHasher.time_cost,
            Argon2PasswordHasher.memory_cost,
            Argon2PasswordHasher.parallelism,
        )
    parts = [int(part) for part in raw.split(",")]
    if len(parts) != 3 or min(parts) < 1:
        raise ValueError(f"BENCH_ARGON2 must be 'time_cost,memory_cost_kib,parallelism': {raw!r}")
    return parts[0], parts[1], parts[2]


class BenchArgon2PasswordHasher(Argon2PasswordHasher):
    # Same algorithm name, so the hashes are ordinary "argon2$..." hashes.
    algorithm = "argon2"
    time_cost, memory_cost, parallelism = argon2_params()
