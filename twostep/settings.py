"""twostep settings.

Everything deployment-specific comes from the environment (TWOSTEP_*, DATABASE_URL,
EMAIL_*). The defaults are safe for development only; with DEBUG off the process refuses
to start with a development SECRET_KEY or encryption key.
"""

import os
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from twostep.environment import env_flag, env_list

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TWOSTEP_VAR_DIR", BASE_DIR / "var"))


DEVELOPMENT_SECRET_KEY = "dev-only-twostep-secret-key-never-use-in-production"
# Fernet key: url-safe base64 of 32 bytes. Development only.
DEVELOPMENT_ENCRYPTION_KEY = "dHdvc3RlcC1kZXZlbG9wbWVudC1vbmx5LWtleS0wMDA="

DEBUG = env_flag("TWOSTEP_DEBUG", True)
SECRET_KEY = os.environ.get("TWOSTEP_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
# Newest key first: new secrets are encrypted with it, older keys still decrypt.
TWOSTEP_ENCRYPTION_KEYS = env_list("TWOSTEP_ENCRYPTION_KEYS", [DEVELOPMENT_ENCRYPTION_KEY])

if not DEBUG:
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("Set TWOSTEP_SECRET_KEY (32+ characters) when DEBUG is off.")
    if DEVELOPMENT_ENCRYPTION_KEY in TWOSTEP_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "Set TWOSTEP_ENCRYPTION_KEYS to your own keys when DEBUG is off."
        )
for _key in TWOSTEP_ENCRYPTION_KEYS:
    # A malformed key would otherwise surface as an error at the first 2FA login.
    try:
        Fernet(_key.encode("ascii"))
    except ValueError as _error:  # binascii and encoding errors are ValueErrors too
        raise ImproperlyConfigured(
            "TWOSTEP_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(url-safe base64 of 32 bytes, as Fernet.generate_key() makes)."
        ) from _error

ALLOWED_HOSTS = env_list("TWOSTEP_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("TWOSTEP_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "twostep.apps.TwostepAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "twostep.accounts",
    "twostep.mfa",
    "twostep.organizations",
    "twostep.audit",
    "twostep.mail",
    "twostep.recovery",
    "twostep.chat",
    "twostep.login",
    "twostep.support",
]

# The one-query session load (twostep.accounts.session_engine); 0 falls back to Django's
# database sessions and authentication middleware.
FAST_SESSIONS = env_flag("TWOSTEP_FAST_SESSIONS", True)
AUTHENTICATION_MIDDLEWARE = (
    "twostep.accounts.session_engine.AuthenticationMiddleware"
    if FAST_SESSIONS
    else "django.contrib.auth.middleware.AuthenticationMiddleware"
)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (CSS, chat.js), answered before sessions and CSRF are looked at.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "twostep.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The session's browser, start and "last seen" (at most every 5 minutes).
    "twostep.accounts.session_activity.SessionActivityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    AUTHENTICATION_MIDDLEWARE,
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "twostep.urls"
WSGI_APPLICATION = "twostep.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "twostep" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "twostep.context_processors.product",
            ],
        },
    },
]

# Database: SQLite (WAL) by default, PostgreSQL through DATABASE_URL.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'twostep.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("TWOSTEP_CONN_MAX_AGE", "60")),
        # A health check costs a round trip per request; a dead connection fails one
        # request instead, and the next one reconnects.
        conn_health_checks=env_flag("TWOSTEP_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side parameters, and psycopg preparing a statement once a connection has run it
    # `prepare_threshold` times (Django turns that off unless asked, for poolers that move
    # a client between server sessions; TWOSTEP_PG_PREPARE_THRESHOLD=0 turns it off): the
    # statements a process repeats (session load, code check, passkey check) then skip
    # PostgreSQL's parsing and planning, which cost more than running them. Prepared
    # statements belong to one connection; a replaced one (twostep.postgresql) starts afresh.
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": env_flag("TWOSTEP_PG_SERVER_SIDE_BINDING", True),
        "prepare_threshold": int(os.environ.get("TWOSTEP_PG_PREPARE_THRESHOLD", "5")) or None,
    }
    # Django's backend, plus a lost connection (failover, restart) replaced without a 500.
    DATABASES["default"]["ENGINE"] = "twostep.postgresql"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN,
        # so concurrent writers queue (busy timeout) instead of failing on lock upgrade.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not :memory:, so tests can share the database between processes.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["twostep.accounts.backends.EmailBackend"]
LOGIN_URL = "login:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "login:login"

# Argon2id parameters "time_cost,memory_cost_kib,parallelism"; Django's defaults unless set.
# OWASP's minimum is "2,19456,1". Hashes made with other parameters are upgraded at login.
TWOSTEP_ARGON2 = tuple(int(v) for v in os.environ.get("TWOSTEP_ARGON2", "2,102400,8").split(","))
# Recovery codes are 80 random bits, not a password a person chose: argon2id at OWASP's
# minimum is a salted password-hashing function (NIST SP 800-63B) without a password's
# stretching, so making a set of ten stays quick.
TWOSTEP_RECOVERY_CODE_ARGON2 = tuple(
    int(v) for v in os.environ.get("TWOSTEP_RECOVERY_CODE_ARGON2", "2,19456,1").split(",")
)
PASSWORD_HASHERS = [
    "twostep.accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        # The default attributes (username, first_name, last_name) do not exist here.
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["email", "full_name"]},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SESSION_ENGINE = "twostep.accounts.session_engine" if FAST_SESSIONS else "twostep.accounts.sessions"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Security headers. The Content-Security-Policy is set by twostep.middleware.
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_HSTS_SECONDS = int(os.environ.get("TWOSTEP_HSTS_SECONDS", "31536000"))
    # Both bind every subdomain of the site's domain to HTTPS (preload: in browsers' own
    # lists, hard to undo), so they are the operator's choice, off unless set.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("TWOSTEP_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_flag("TWOSTEP_HSTS_PRELOAD", False)
    SECURE_SSL_REDIRECT = env_flag("TWOSTEP_SSL_REDIRECT", True)
    if env_flag("TWOSTEP_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TWOSTEP_TIME_ZONE", "Europe/Brussels")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# twostep/ itself is not an app, so its stylesheet is found here, not by the app finder.
STATICFILES_DIRS = [BASE_DIR / "twostep" / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one at each start
# With DEBUG off the app serves its own static files (WhiteNoise), under hashed names
# (cached for good by browsers) and pre-compressed, from what `collectstatic` wrote to
# STATIC_ROOT. In development they come straight from the source folders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Email. Messages are queued in the database (twostep.mail) and delivered by a worker.
DEFAULT_FROM_EMAIL = os.environ.get("TWOSTEP_FROM_EMAIL", "Bpart <no-reply@bpart.com>")
if "EMAIL_HOST" in os.environ:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS", False)
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
else:
    EMAIL_BACKEND = os.environ.get(
        "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"twostep": {"level": "INFO"}},
}

# The product's own settings (TWOSTEP_*), kept in a module of their own.
from twostep.product_settings import *  # noqa: E402, F403
