"""The second step with a security key can remember the browser too: the tick box sits in
the key's form, whose fields webauthn.js posts with the key's answer."""

from django.test import Client

from tests.authenticator import Authenticator
from tests.helpers import submit_password
from tests.mfa.webauthn.conftest import JSON, key_answer
from twostep.accounts.models import RememberedBrowser, User
from twostep.mfa.models import SecurityKey


def test_a_key_login_with_the_box_ticked_remembers_the_browser(
    client: Client, user: User, authenticator: Authenticator, key: SecurityKey
):
    assert submit_password(client)["Location"] == "/login/code/"
    page = client.get("/login/code/").content.decode()
    form = page[page.index('data-webauthn="key"') : page.index("</form>")]
    assert 'name="remember"' in form

    answer = key_answer(client, authenticator)
    response = client.post("/login/key/", {"credential": answer, "remember": "1"}, **JSON)

    assert response.json() == {"redirect": "/profile/"}
    assert "twostep_remember_token" in response.cookies
    assert RememberedBrowser.objects.filter(user=user).count() == 1
    client.post("/logout/")
    assert submit_password(client)["Location"] == "/profile/"


def test_a_key_login_without_the_box_remembers_nothing(
    client: Client, user: User, authenticator: Authenticator, key: SecurityKey
):
    submit_password(client)
    answer = key_answer(client, authenticator)
    response = client.post("/login/key/", {"credential": answer}, **JSON)

    assert "twostep_remember_token" not in response.cookies
    assert not RememberedBrowser.objects.exists()
