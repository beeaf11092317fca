"""ManageSieve (RFC 5804) transcripts: every command and error, replayed
over a real socket against the real server and PostgreSQL."""

from __future__ import annotations

import base64
from string import Template

import pytest
from django.test import override_settings

from mailboxes import sieve, store
from tests.pop.conftest import insecure
from tests.transcript import Transcript

from .conftest import ALICE, ALICE_PW, PLAIN

EXTENSIONS = " ".join(sieve.EXTENSIONS)
CAPABILITIES = f"""
    S: "IMPLEMENTATION" "Mailhost"
    S: "SASL" "PLAIN"
    S: "STARTTLS"
    S: "SIEVE" "{EXTENSIONS}"
    S: "MAXREDIRECTS" "4"
    S: "VERSION" "1.0"
"""
GREETING = CAPABILITIES + 'S: OK "{{\\S+}} ManageSieve ready"\n'
LOGIN = (
    GREETING
    + f"""
    C: AUTHENTICATE "PLAIN" "{PLAIN}"
    S: OK "Logged in"
"""
)
VALUES = {
    "greeting": GREETING,
    "login": LOGIN,
    "alice": ALICE,
    "extensions": EXTENSIONS,
    "bad": base64.b64encode(f"\0{ALICE}\0wrong".encode()).decode(),
    "plain": PLAIN,
    "proxy": base64.b64encode(f"bob@example.test\0{ALICE}\0{ALICE_PW}".encode()).decode(),
}

TRANSCRIPTS = {
    "capability before login offers plain and starttls": """
        $greeting
        C: CAPABILITY
        S: "IMPLEMENTATION" "Mailhost"
        S: "SASL" "PLAIN"
        S: "STARTTLS"
        S: "SIEVE" "$extensions"
        S: "MAXREDIRECTS" "4"
        S: "VERSION" "1.0"
        S: OK "Capability completed"
        C: LOGOUT
        S: OK "Logout completed"
        S: <closed>
    """,
    "capability after login names the owner and offers no login": """
        $login
        C: capability
        S: "IMPLEMENTATION" "Mailhost"
        S: "SASL" ""
        S: "SIEVE" "$extensions"
        S: "MAXREDIRECTS" "4"
        S: "OWNER" "$alice"
        S: "VERSION" "1.0"
        S: OK "Capability completed"
    """,
    "authenticate with a continuation and the response as a literal": """
        $greeting
        C: AUTHENTICATE "PLAIN"
        S: ""
        C: {${plainsize}+}
        C: $plain
        S: OK "Logged in"
    """,
    "a cancelled authentication": """
        $greeting
        C: AUTHENTICATE "PLAIN"
        S: ""
        C: "*"
        S: NO "Authentication cancelled"
    """,
    "wrong passwords are refused and the third ends the connection": """
        $greeting
        C: AUTHENTICATE "PLAIN" "$bad"
        S: NO "Authentication failed"
        C: AUTHENTICATE "PLAIN" "$proxy"
        S: NO "Authentication failed"
        C: AUTHENTICATE "PLAIN" "bm90IHBsYWlu"
        S: BYE "Too many failed logins"
        S: <closed>
    """,
    "an unknown mechanism": """
        $greeting
        C: AUTHENTICATE "DIGEST-MD5"
        S: NO "Unsupported authentication mechanism"
    """,
    "script commands need a login": """
        $greeting
        C: LISTSCRIPTS
        S: NO "LISTSCRIPTS is not allowed when non-authenticated"
        C: PUTSCRIPT "a" {5+}
        C: keep;
        S: NO "PUTSCRIPT is not allowed when non-authenticated"
    """,
    "putscript listscripts setactive getscript and the active mark": """
        $login
        C: PUTSCRIPT "main" {5+}
        C: keep;
        S: OK
        C: PUTSCRIPT "other" {15+}
        C: discard;
        C: # bye
        S: OK
        C: LISTSCRIPTS
        S: "main"
        S: "other"
        S: OK "Listscripts completed"
        C: SETACTIVE "other"
        S: OK
        C: LISTSCRIPTS
        S: "main"
        S: "other" ACTIVE
        S: OK "Listscripts completed"
        C: GETSCRIPT "other"
        S: {15}
        S: discard;
        S: # bye
        S: OK "Getscript completed"
        C: SETACTIVE ""
        S: OK
        C: LISTSCRIPTS
        S: "main"
        S: "other"
        S: OK "Listscripts completed"
    """,
    "putscript of invalid sieve names its line and stores nothing": """
        $login
        C: PUTSCRIPT "bad" {29+}
        C: require "fileinto";
        C: fileinto
        S: NO "line 2: missing ';' after fileinto"
        C: CHECKSCRIPT {11+}
        C: frobnicate;
        S: NO "line 1: unknown command 'frobnicate'"
        C: CHECKSCRIPT {5+}
        C: keep;
        S: OK
        C: LISTSCRIPTS
        S: OK "Listscripts completed"
    """,
    "deletescript refuses the active script and missing ones": """
        $login
        C: PUTSCRIPT "a" {5+}
        C: keep;
        S: OK
        C: SETACTIVE "a"
        S: OK
        C: DELETESCRIPT "a"
        S: NO (ACTIVE) "The active script cannot be deleted"
        C: DELETESCRIPT "nope"
        S: NO (NONEXISTENT) "There is no script by that name"
        C: SETACTIVE "nope"
        S: NO (NONEXISTENT) "There is no script by that name"
        C: GETSCRIPT "nope"
        S: NO (NONEXISTENT) "There is no script by that name"
        C: SETACTIVE ""
        S: OK
        C: DELETESCRIPT "a"
        S: OK
    """,
    "renamescript keeps the script and refuses an existing name": """
        $login
        C: PUTSCRIPT "a" {5+}
        C: keep;
        S: OK
        C: PUTSCRIPT "b" {5+}
        C: keep;
        S: OK
        C: RENAMESCRIPT "a" "b"
        S: NO (ALREADYEXISTS) "A script by that name exists already"
        C: RENAMESCRIPT "nope" "c"
        S: NO (NONEXISTENT) "There is no script by that name"
        C: RENAMESCRIPT "a" "c"
        S: OK
        C: LISTSCRIPTS
        S: "b"
        S: "c"
        S: OK "Listscripts completed"
    """,
    "havespace answers the quota": """
        $login
        C: HAVESPACE "x" 100
        S: OK
        C: HAVESPACE "x" 999999
        S: NO (QUOTA/MAXSIZE) "Over the script quota"
        C: HAVESPACE "x" "big"
        S: NO "HAVESPACE expects a number there"
    """,
    "noop echoes its tag and unauthenticate goes back": """
        $login
        C: NOOP
        S: OK "Done"
        C: NOOP "STARTTLS-SYNC-42"
        S: OK (TAG "STARTTLS-SYNC-42") "Done"
        C: UNAUTHENTICATE
        S: OK "Unauthenticate completed"
        C: LISTSCRIPTS
        S: NO "LISTSCRIPTS is not allowed when non-authenticated"
        C: UNAUTHENTICATE
        S: NO "UNAUTHENTICATE is not allowed when non-authenticated"
    """,
    "syntax errors are answered no": """
        $greeting
        C: FROBNICATE
        S: NO "unknown command"
        C: GETSCRIPT
        S: NO "wrong number of arguments for GETSCRIPT"
        C: NOOP "unterminated
        S: NO "line end inside a quoted string"
        C: 123
        S: NO "expected a command"
    """,
    "a script name with a line break is invalid": """
        $login
        C: PUTSCRIPT {4+}
        C: a
        C: b {5+}
        C: keep;
        S: NO "Invalid script name"
    """,
}


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_managesieve_transcript(sieve_server, alice, name):
    with Transcript("127.0.0.1", sieve_server.ports["managesieve"]) as t:
        t.run(Template(TRANSCRIPTS[name]).substitute(VALUES, plainsize=len(PLAIN)))


def test_too_many_bad_commands_end_a_managesieve_session(sieve_server, users):
    """The line protocols' budget (protocols/lines.py): an overlong line and
    a command not allowed in the state count as bad commands too."""
    with Transcript("127.0.0.1", sieve_server.ports["managesieve"]) as t:
        t.run(GREETING)
        t.send(b"X" * 9000 + b"\r\nLISTSCRIPTS\r\n" + b"FROBNICATE\r\n" * 18)
        t.run(
            'S: NO "Line too long"\nS: NO "LISTSCRIPTS is not allowed when non-authenticated"\n'
            + "\n".join(['S: NO "unknown command"'] * 18)
            + '\nS: BYE "Too many bad commands"\nS: <closed>'
        )


@override_settings(MAIL_SIEVE_MAX_SCRIPTS=1)
def test_putscript_over_the_script_count_is_quota_maxscripts(sieve_server, alice):
    store.put_script(alice.id, "one", "keep;")
    with Transcript("127.0.0.1", sieve_server.ports["managesieve"]) as t:
        t.run(
            LOGIN
            + """
            C: PUTSCRIPT "two" {5+}
            C: keep;
            S: NO (QUOTA/MAXSCRIPTS) "Over the script quota"
        """
        )


@override_settings(MAIL_SIEVE_MAX_SCRIPT_SIZE=10)
def test_oversized_literal_is_dropped_unread_and_answered_maxsize(sieve_server, alice):
    with Transcript("127.0.0.1", sieve_server.ports["managesieve"]) as t:
        t.run(LOGIN)
        t.send(b'PUTSCRIPT "big" {20+}\r\n' + b"x" * 20 + b"\r\nNOOP\r\n")
        t.expect('NO (QUOTA/MAXSIZE) "Script too large"')
        t.expect('OK "Done"')


@override_settings(MAIL_TRUST_LOOPBACK=False)
def test_plaintext_login_needs_tls_and_works_after_starttls(sieve_server, alice):
    with Transcript("127.0.0.1", sieve_server.ports["managesieve"]) as t:
        t.run(
            GREETING.replace('"SASL" "PLAIN"', '"SASL" ""')
            + f"""
            C: AUTHENTICATE "PLAIN" "{PLAIN}"
            S: NO (ENCRYPT-NEEDED) "Plaintext authentication is not allowed without TLS (use STARTTLS)"
            C: STARTTLS
            S: OK "Begin TLS negotiation"
        """
        )
        t.starttls(insecure())
        t.run(
            CAPABILITIES.replace('    S: "STARTTLS"\n', "")
            + f"""
            S: OK "TLS negotiation successful"
            C: STARTTLS
            S: NO "TLS is already active"
            C: AUTHENTICATE "PLAIN" "{PLAIN}"
            S: OK "Logged in"
        """
        )


def test_command_pipelined_after_starttls_is_never_answered(sieve_server, alice):
    with Transcript("127.0.0.1", sieve_server.ports["managesieve"]) as t:
        t.run(GREETING)
        t.send(b"STARTTLS\r\nNOOP \"injected\"\r\n")
        t.expect('OK "Begin TLS negotiation"')
        t.starttls(insecure())
        t.run(
            CAPABILITIES.replace('    S: "STARTTLS"\n', "")
            + """
            S: OK "TLS negotiation successful"
            C: NOOP
            S: OK "Done"
        """
        )


def test_scripts_of_one_account_are_invisible_to_another(sieve_server, alice, bob):
    store.put_script(bob.id, "bobs", "keep;")
    with Transcript("127.0.0.1", sieve_server.ports["managesieve"]) as t:
        t.run(
            LOGIN
            + """
            C: LISTSCRIPTS
            S: OK "Listscripts completed"
            C: GETSCRIPT "bobs"
            S: NO (NONEXISTENT) "There is no script by that name"
        """
        )


@pytest.mark.slow
def test_runmailserver_serves_managesieve_on_its_port(users):
    from tests.servers import SubprocessServer

    with SubprocessServer("managesieve") as server, Transcript("127.0.0.1", server.ports["managesieve"]) as t:
        t.run(
            GREETING
            + """
            C: LOGOUT
            S: OK "Logout completed"
        """
        )
