"""Security keys and passkeys (WebAuthn): the ceremonies (`ceremonies`, py_webauthn and
nothing of Django's database), their single-use challenges (`challenges`), adding a key
(`registration`), judging an assertion (`assertions`), renaming and removing keys (`keys`),
and the Settings pages (`views`). The login's side of it lives in twostep.login."""
