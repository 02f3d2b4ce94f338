"""Names bound for email headers refuse control characters, through one validator that
every app can import (twostep.text sits below the apps)."""

import ast
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

import twostep.text
from twostep.recovery.forms import RecoveryRequestForm
from twostep.text import one_line, refuse_control_characters


@pytest.mark.parametrize("name", ["Ada\rLovelace", "Ada\nBcc: x@example.com", "Ada\x85", "A\u2028"])
def test_a_name_with_a_control_character_is_refused(name):
    with pytest.raises(ValidationError, match="no line breaks or control characters"):
        refuse_control_characters(name)


def test_an_ordinary_name_passes():
    refuse_control_characters("Ada Lovelace-Byron, Countess")
    assert one_line("Ada\r\n Lovelace") == "Ada Lovelace"


def test_the_validator_imports_no_app_so_accounts_can_use_it():
    tree = ast.parse(Path(twostep.text.__file__).read_text())
    imported = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("twostep")]


def test_the_recovery_form_uses_it():
    field = RecoveryRequestForm.base_fields["full_name"]
    assert refuse_control_characters in field.validators
