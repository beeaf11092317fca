"""The vacation and forwarding section (mailboxes/sieve/managed.py): what it
writes is valid Sieve that does what the settings say, it reads back what it
wrote, and it goes into a user's script without touching the user's rules."""

from __future__ import annotations

import pytest

from mailboxes import sieve
from mailboxes.sieve import managed
from mailboxes.sieve.managed import Settings

from .cases import message, run

MAIL = message("From: sender@example.org", "To: me@example.com", "Subject: Lunch?")
USER = 'require ["fileinto"];\n# my rules\nif header :contains "subject" "bank" {\n    fileinto "Finance";\n}\n'

SETTINGS = [
    (
        Settings(
            vacation_enabled=True,
            vacation_subject='Away "now"',
            vacation_body="Back on Monday.\nAlice",
            vacation_days=3,
        ),
        ["implicit keep", 'vacation 259200s subject=Away "now" from=None Back on Monday.\nAlice'],
    ),
    (Settings(vacation_body="Kept for later, not sent.", vacation_days=9), ["implicit keep"]),
    (Settings(forward_to="me@elsewhere.example"), ["implicit keep", "redirect :copy me@elsewhere.example"]),
    (Settings(forward_to="me@elsewhere.example", forward_keep_copy=False), ["redirect me@elsewhere.example"]),
    (
        Settings(
            vacation_enabled=True, vacation_body="Away.", forward_to="me@elsewhere.example", forward_keep_copy=False
        ),
        ["vacation 604800s subject=None from=None Away.", "redirect me@elsewhere.example"],
    ),
]


@pytest.mark.parametrize(("settings", "actions"), SETTINGS)
def test_the_section_is_sieve_that_does_what_the_settings_say_and_reads_back(settings, actions):
    text = managed.section(settings)
    assert sorted(run(text, MAIL)) == sorted(actions)
    assert managed.read(text) == settings


@pytest.mark.parametrize(("settings", "actions"), SETTINGS)
def test_in_a_users_script_it_runs_first_and_leaves_the_users_rules_as_they_were(settings, actions):
    script = managed.with_section(USER, managed.section(settings))
    sieve.compile_script(script)  # still valid: the section's require comes after the user's, before any rule
    assert script.index('require ["fileinto"]') < script.index(managed.BEGIN) < script.index("if header")
    assert managed.without_section(script) == USER
    assert managed.read(script) == settings
    bank = message("From: sender@example.org", "To: me@example.com", "Subject: bank statement")
    assert "fileinto Finance" in run(script, bank)  # the user's rule still files


def test_writing_again_replaces_the_section_and_nothing_removes_it():
    first = managed.with_section(USER, managed.section(Settings(forward_to="a@far.example")))
    second = managed.with_section(first, managed.section(Settings(forward_to="b@far.example")))
    assert second.count(managed.BEGIN) == 1 and "b@far.example" in second and "a@far.example" not in second
    assert managed.with_section(second, managed.section(Settings())) == USER
    assert managed.with_section("", managed.section(Settings(forward_to="b@far.example"))) == managed.section(
        Settings(forward_to="b@far.example")
    )


def test_a_script_without_the_section_or_with_a_broken_one_reads_as_nothing_set():
    assert managed.read(USER) == Settings()
    broken = f"{managed.BEGIN}\nvacation :days;\n{managed.END}\n"
    assert managed.read(broken) == Settings()
