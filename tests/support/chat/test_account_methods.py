"""Support sees which methods an account has (kinds, key names and dates, codes left),
never a secret, a code, its lookup or its hash."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tests.helpers import SECRET, enable_2fa, give_recovery_codes
from twostep.chat import services
from twostep.mfa import factors
from twostep.mfa.models import RecoveryCode, SecurityKey


@pytest.fixture
def conversation(person):
    return services.post_for_user(user=person, body="I lost my phone").conversation


def test_the_account_summary_lists_the_methods_and_no_secret(agent_client, person, conversation):
    enable_2fa(person)
    SecurityKey.objects.create(
        user=person,
        name="Blue YubiKey",
        credential_id="cred-blue",
        public_key=b"public",
        created_at=timezone.now(),
    )
    with transaction.atomic():
        factors.recount_methods(person)
    codes = give_recovery_codes(person)

    response = agent_client.get(reverse("support:conversation", args=[conversation.pk]))

    text = response.content.decode()
    summary = text.split('data-testid="account-summary"')[1]
    assert '<span class="status on">On</span>' in summary
    assert "Authenticator app" in summary
    assert "Blue YubiKey (security key; added" in summary
    assert '<dd data-testid="account-codes">10 left</dd>' in summary
    for code in codes:
        assert code not in text and code[:4] not in text.split("account-codes")[1][:200]
    for row in RecoveryCode.objects.filter(user=person):
        assert row.code_hash not in text
    assert SECRET.decode() not in text
