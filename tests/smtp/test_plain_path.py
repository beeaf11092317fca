"""policy.plain_path, the MAIL/RCPT address parser for the plain form, answers
exactly as aiosmtpd's parser (the standard library's get_angle_addr) does
wherever it answers at all, and leaves every other form to that parser."""

from __future__ import annotations

import random
from email._header_value_parser import get_angle_addr

import pytest

from protocols.smtp.policy import plain_path

SAFE = "ab.Z9-+_"
ALPHABET = SAFE + "@<> \t\"()[]:,;\\!=é\r"


def stdlib(arg: str) -> tuple[str, str] | None:
    try:
        address, rest = get_angle_addr(arg)
    except Exception:  # HeaderParseError, and IndexError on some inputs
        return None
    return address.addr_spec, str(rest)


@pytest.mark.parametrize(
    "arg",
    ["<bench@example.org>", "<user100@example.test> SIZE=4096", "<a.b+c@d-e.f>  SIZE=1 BODY=8BITMIME", "<A@B>"],
)
def test_the_plain_forms_are_parsed_as_the_stdlib_parses_them(arg: str) -> None:
    assert plain_path(arg) is not None
    assert plain_path(arg) == stdlib(arg)


@pytest.mark.parametrize(
    "arg",
    ["<>", '<"a b"@c>', "<@relay.test:a@b>", "<a@[192.0.2.1]>", "<é@b>", "<a@b> (comment) SIZE=1", " <a@b>", "<a@b.>"],
)
def test_other_forms_are_left_to_the_stdlib_parser(arg: str) -> None:
    assert plain_path(arg) is None


def test_wherever_it_answers_random_arguments_get_the_stdlibs_answer() -> None:
    rng = random.Random(18)

    def text(most: str) -> str:  # mostly characters of `most`, now and then any
        return "".join(rng.choice(most if rng.random() < 0.9 else ALPHABET) for _ in range(rng.randint(0, 6)))

    answered = 0
    for _ in range(20000):
        local, domain, tail = text(SAFE), text(SAFE), text(" SIZE=1")
        arg = f"<{local}@{domain}>{tail}" if rng.random() < 0.8 else local + domain + tail
        found = plain_path(arg)
        if found is not None:
            answered += 1
            assert found == stdlib(arg), arg
    assert answered > 100  # the comparison was made, not skipped
