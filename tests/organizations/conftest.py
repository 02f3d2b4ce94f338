from tests.accounts.factories import make_user  # noqa: F401 - overrides the shared one
