"""RFC 5228's own examples and the base language as table cases:
(script, message, envelope) -> actions, through compile_script and evaluate."""

from __future__ import annotations

import pytest

from .cases import assert_case, message

EXTENDED_EXAMPLE = """#
# Example Sieve Filter (RFC 5228 9)
require ["fileinto"];
if header :is "Sender" "owner-ietf-mtg@ietf.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
"""

REDIRECTS = """if header :contains ["From"] ["coyote"] {
   redirect "acm@example.com";
} elsif header :contains "Subject" "$$$" {
   redirect "postmaster@example.com";
} else {
   redirect "field@example.com";
}
"""

CASES = [
    (
        "the extended example files list mail by Sender",
        EXTENDED_EXAMPLE,
        message("Sender: owner-ietf-mtg@ietf.org", "From: a@ietf.org", "To: me@example.com"),
        ["fileinto filter"],
    ),
    (
        "the extended example keeps company mail, the domain compared without case",
        EXTENDED_EXAMPLE,
        message("From: boss@EXAMPLE.com", "To: me@example.com"),
        ["keep"],
    ),
    (
        "the extended example files mail not addressed to me as spam",
        EXTENDED_EXAMPLE,
        message("From: x@example.net", "To: other@example.org"),
        ["fileinto spam"],
    ),
    (
        "the extended example matches wildcards in the subject",
        EXTENDED_EXAMPLE,
        message(
            "From: x@example.net",
            "To: list@example.org",
            "Cc: me@example.com",
            "Subject: How to MAKE lots of money fast",
        ),
        ["fileinto spam"],
    ),
    (
        "the extended example files the rest as personal",
        EXTENDED_EXAMPLE,
        message("From: x@example.net", "To: a@example.org", "Cc: me@example.com", "Subject: lunch"),
        ["fileinto personal"],
    ),
    (
        "if takes the first branch that holds (3.1)",
        REDIRECTS,
        message("From: Wile E. Coyote <coyote@example.com>"),
        ["redirect acm@example.com"],
    ),
    (
        "elsif is tried when if failed (3.1)",
        REDIRECTS,
        message("From: a@example.com", "Subject: $$$ for you"),
        ["redirect postmaster@example.com"],
    ),
    ("else runs when nothing held (3.1)", REDIRECTS, message("From: a@example.com"), ["redirect field@example.com"]),
    ("nothing done is the implicit keep (2.10.2)", "", message("Subject: x"), ["implicit keep"]),
    ("discard cancels the implicit keep (4.4)", "discard;", message("Subject: x"), ["discard"]),
    ("stop ends the script (3.3)", "stop; discard;", message("Subject: x"), ["implicit keep"]),
    ("keep twice is done once (2.10.3)", "keep; keep;", message("Subject: x"), ["keep"]),
    (
        "envelope from with :all :is (5.4)",
        'require "envelope";\nif envelope :all :is "from" "tim@example.com" { discard; }',
        message("Subject: x"),
        ["discard"],
        {"sender": "tim@example.com"},
    ),
    (
        "exists needs every field (5.5)",
        'if exists ["From", "Date"] { discard; }',
        message("From: a@b.c"),
        ["implicit keep"],
    ),
    (
        "not exists holds when one is missing (5.8)",
        'if not exists ["From","Date"] { discard; }',
        message("From: a@b.c"),
        ["discard"],
    ),
    (
        "size :over with a K quantifier (5.9)",
        "if size :over 1K { discard; }",
        message("Subject: x", body="x" * 2000),
        ["discard"],
    ),
    ("size :under (5.9)", "if size :under 1K { discard; }", message("Subject: x"), ["discard"]),
    ("allof needs all (5.2)", 'if allof (true, false) { discard; }', message("Subject: x"), ["implicit keep"]),
    ("anyof needs one (5.3)", 'if anyof (false, true) { discard; }', message("Subject: x"), ["discard"]),
    (
        "header :contains ignores ASCII case by default (2.7.3)",
        'if header :contains "Subject" "MAKE MONEY FAST" { discard; }',
        message("Subject: make money fast now"),
        ["discard"],
    ),
    (
        "i;octet compares case (2.7.3)",
        'if header :contains :comparator "i;octet" "Subject" "MONEY" { discard; }',
        message("Subject: money"),
        ["implicit keep"],
    ),
    (
        "header values are decoded from RFC 2047 words",
        'if header :is "Subject" "Grüße" { discard; }',
        message("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?="),
        ["discard"],
    ),
    (
        "address :localpart (2.7.4)",
        'if address :localpart :is "From" "coyote" { discard; }',
        message("From: Wile <coyote@desert.example.org>"),
        ["discard"],
    ),
    (
        "a backslash makes a wildcard literal (2.7.1)",
        r'if header :matches "Subject" "what\\?" { discard; }',
        message("Subject: what?"),
        ["discard"],
    ),
    (
        "multi-line strings undo dot-stuffing (2.4.2)",
        'require "fileinto";\nfileinto text:\n..hidden\n.\n;',
        message("Subject: x"),
        ["fileinto .hidden\n"],
    ),
    ("a comment in brackets spans lines (2.3)", "/* all\n of this */ discard;", message("Subject: x"), ["discard"]),
    (
        "redirect keeps no copy (4.2)",
        'redirect "bart@example.com";',
        message("Subject: x"),
        ["redirect bart@example.com"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rfc5228_example_gives_the_actions_the_rfc_says(case: tuple) -> None:  # type: ignore[type-arg]
    assert_case(case)
