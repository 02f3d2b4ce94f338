"""A minimal site built on django-two-factor-auth, set up like twostep for `make bench`.

Everything that varies comes from the environment:
  DATABASE_URL        the database (SQLite file by default)
  PEER_CONN_MAX_AGE   persistent connections, seconds (default 0: one per request)
  PEER_SECRET_KEY     SECRET_KEY (a bench-only default)
  BENCH_ARGON2        "time_cost,memory_cost_kib,parallelism" for the argon2 hasher
  BENCH_COUNT_SQL     "1" adds an X-Bench-SQL header with the statements each request ran
Plain HTTP on 127.0.0.1 only: no SSL redirect, no Secure cookies.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = False
SECRET_KEY = os.environ.get(
    "PEER_SECRET_KEY", "peer-bench-only-secret-key-0123456789abcdefghijklmnop"
)
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # As django-two-factor-auth's installation docs list them.
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "formtools",
    "peersite",
    "peerbench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if os.environ.get("BENCH_COUNT_SQL", "") == "1":
    # Outermost, so it sees every statement of the request, the session save included.
    MIDDLEWARE.insert(0, "sqlcount.CountSQLMiddleware")  # bench/sqlcount.py, shared with twostep

ROOT_URLCONF = "peersite.urls"
WSGI_APPLICATION = "peersite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'peer.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("PEER_CONN_MAX_AGE", "0")),
        conn_health_checks=False,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The same options as twostep's SQLite database.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "/auth-page/"
LOGOUT_REDIRECT_URL = "two_factor:login"

PASSWORD_HASHERS = [
    "peersite.hashers.BenchArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False

# django-two-factor-auth / django-otp: all their defaults are kept (TOTP throttling factor 1,
# 600 s between the password and the code, no remember-this-browser cookie, OTP_TOTP_SYNC).

LANGUAGE_CODE = "en"
TIME_ZONE = "Europe/Brussels"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
