"""manage.py setapop: how an account enables APOP (RFC 1939 7)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from mailboxes import store

from .conftest import ALICE


def setapop(*args: str) -> str:
    out = io.StringIO()
    call_command("setapop", *args, stdout=out)
    return out.getvalue().strip()


def test_setapop_sets_generates_and_removes_the_secret(alice):
    assert setapop(ALICE, "--secret", "tanstaaf") == f"APOP enabled for {ALICE}"
    assert store.apop_secret(ALICE)[1] == "tanstaaf"
    generated = setapop(ALICE, "--generate")
    assert len(generated) >= 20 and store.apop_secret(ALICE)[1] == generated
    assert setapop(ALICE, "--off") == f"APOP turned off for {ALICE}"
    assert store.apop_secret(ALICE) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody@example.test", "--secret", "x"), "no such account"),
        ((ALICE, "--secret", "has space"), "printable characters without spaces"),
        ((ALICE, "--secret", "x" * 129), "1 to 128"),
    ],
)
def test_setapop_refuses_bad_input_and_writes_nothing(alice, args, message):
    with pytest.raises(CommandError, match=message):
        setapop(*args)
    assert store.apop_secret(ALICE) is None
