"""The product's own settings (TWOSTEP_*), read from the environment here and nowhere else.

Imported into twostep.settings, so code reads them as django.conf.settings.TWOSTEP_*.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from twostep.environment import env_flag, env_list

TWOSTEP_PRODUCT_NAME = os.environ.get("TWOSTEP_PRODUCT_NAME", "Bpart")
TWOSTEP_TOTP_ISSUER = os.environ.get("TWOSTEP_TOTP_ISSUER", "Bpart")
TWOSTEP_SUPPORT_EMAIL = os.environ.get("TWOSTEP_SUPPORT_EMAIL", "support@bpart.com")
TWOSTEP_SIGNUP = env_flag("TWOSTEP_SIGNUP", True)
# The site's public address: mailed links, and the origin WebAuthn expects. localhost, not
# 127.0.0.1, by default: browsers refuse security keys and passkeys on an IP address.
TWOSTEP_SITE_URL = os.environ.get("TWOSTEP_SITE_URL", "http://localhost:8000")
# The WebAuthn relying party ID: a domain (never an IP address) that is TWOSTEP_SITE_URL's
# host or a parent of it. Empty: TWOSTEP_SITE_URL's host (twostep.mfa.webauthn.config).
TWOSTEP_WEBAUTHN_RP_ID = os.environ.get("TWOSTEP_WEBAUTHN_RP_ID", "")
# Cooling-off between a support-approved 2FA reset and the reset itself (seconds).
TWOSTEP_RECOVERY_DELAY = int(os.environ.get("TWOSTEP_RECOVERY_DELAY", str(24 * 60 * 60)))
# Inbound support email: SMTP listener (python manage.py support_smtp_server).
TWOSTEP_INBOUND_SMTP_HOST = os.environ.get("TWOSTEP_INBOUND_SMTP_HOST", "127.0.0.1")
TWOSTEP_INBOUND_SMTP_PORT = int(os.environ.get("TWOSTEP_INBOUND_SMTP_PORT", "2525"))
# How many reverse proxies in front of the app add X-Forwarded-For (0: use REMOTE_ADDR).
# Behind one proxy every request has its address: set this, or the per-IP throttles see
# all clients as one.
TWOSTEP_TRUSTED_PROXIES = int(os.environ.get("TWOSTEP_TRUSTED_PROXIES", "0"))
# `worker_status` and the support console call the worker late when it has completed no
# pass for this long (seconds).
TWOSTEP_WORKER_LATE_SECONDS = int(os.environ.get("TWOSTEP_WORKER_LATE_SECONDS", "300"))
# A worker's claim on a queued email (seconds); renewed while the email is being sent, so
# it only lapses when the worker died.
TWOSTEP_MAIL_CLAIM_SECONDS = float(os.environ.get("TWOSTEP_MAIL_CLAIM_SECONDS", "300"))
if not TWOSTEP_MAIL_CLAIM_SECONDS > 0:  # renewed every third of it: no claim, no renewal
    raise ImproperlyConfigured("TWOSTEP_MAIL_CLAIM_SECONDS must be more than 0 seconds.")
# An email that cannot be delivered is retried (at most an hour apart) for this long after
# it was queued (seconds, default 3 days), then kept as failed for support to re-send.
TWOSTEP_MAIL_RETRY_SECONDS = int(os.environ.get("TWOSTEP_MAIL_RETRY_SECONDS", str(3 * 86400)))
# How long the state between a correct password and a correct code lives.
TWOSTEP_PENDING_LOGIN_SECONDS = 300
# "Confirm it's you": how long a confirmation (or a login with every proof) lets actions
# that could lock the person out go ahead (seconds; not extended by activity).
TWOSTEP_REAUTH_SECONDS = int(os.environ.get("TWOSTEP_REAUTH_SECONDS", "600"))
if TWOSTEP_REAUTH_SECONDS < 60:  # the page counts it in minutes; less leaves no time to act
    raise ImproperlyConfigured("TWOSTEP_REAUTH_SECONDS must be at least 60 seconds.")
# "Don't ask for a code on this browser": for how many days (0 turns the offer off and
# no remembered browser is recognised; lowering it shortens those already remembered).
TWOSTEP_REMEMBER_DAYS = int(os.environ.get("TWOSTEP_REMEMBER_DAYS", "30"))
if not 0 <= TWOSTEP_REMEMBER_DAYS <= 400:  # browsers keep a cookie at most 400 days
    raise ImproperlyConfigured("TWOSTEP_REMEMBER_DAYS must be from 0 to 400 days.")
# SMTP peers that relay mail to the support listener (a local MTA):
# their address says nothing about the sender, so it is neither stored as the request's
# origin nor counted against the per-IP limit. Any other peer's address is both.
# Addresses or CIDR ranges (e.g. 10.0.0.0/8); IPv4-mapped IPv6 peers match their IPv4.
TWOSTEP_INBOUND_SMTP_RELAYS = env_list("TWOSTEP_INBOUND_SMTP_RELAYS", ["127.0.0.1", "::1"])
# Recovery requests recorded with no client address (mail through a relay, the pipe
# command) acted on per hour, all senders together; past it they are recorded cut short as
# "rate limited" and nothing is mailed.
TWOSTEP_RECOVERY_NO_IP_PER_HOUR = int(os.environ.get("TWOSTEP_RECOVERY_NO_IP_PER_HOUR", "200"))
# Hourly limits on sign-up and password-reset emails, per address and per
# client IP (both kinds share them; past a limit the page answers the same, no email).
TWOSTEP_EMAIL_PER_ADDRESS_HOUR = int(os.environ.get("TWOSTEP_EMAIL_PER_ADDRESS_HOUR", "3"))
TWOSTEP_EMAIL_PER_IP_HOUR = int(os.environ.get("TWOSTEP_EMAIL_PER_IP_HOUR", "20"))
