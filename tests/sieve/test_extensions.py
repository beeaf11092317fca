"""Each extension's RFC examples as table cases:
(script, message, envelope and delivery facts) -> actions."""

from __future__ import annotations

import pytest

from .cases import assert_case, message

LIST_MAIL = message("List-ID: Sieve discussion <sieve@ietf.org>", "Subject: [acme-users] [fwd] version 1.0 is out")
BOSS = message("From: boss@frobnitzm.example.edu", "Subject: now", "Message-ID: <1@x>")
DATED = message(
    "Date: Sun, 06 Dec 2026 21:15:00 -0500",
    "Received: from a; Mon, 07 Dec 2026 02:16:00 +0000",
    "Received: from b; Sun, 06 Dec 2026 23:00:00 +0000",
    "Subject: x",
)

CASES = [
    # RFC 5229 variables
    (
        "variables: :matches fills ${1}... (5229 3.2)",
        'require ["fileinto", "variables"];\nif header :matches "List-ID" "*<*@*" {\n'
        '    fileinto "INBOX.lists.${2}"; stop;\n}',
        LIST_MAIL,
        ["fileinto INBOX.lists.sieve"],
    ),
    (
        "variables: each * matches as little as it can (5229 3.2)",
        'require ["fileinto", "variables"];\nif header :matches "Subject" "[*] *" { fileinto "${1}/${2}"; }',
        LIST_MAIL,
        ["fileinto acme-users/[fwd] version 1.0 is out"],
    ),
    (
        "variables: set with modifiers (5229 4.1)",
        'require ["fileinto", "variables"];\nset :upper :upperfirst "a" "box";\nset :length "n" "four";\n'
        'fileinto "${a}-${n}-${unknown}";',
        LIST_MAIL,
        ["fileinto BOX-4-"],
    ),
    (
        "variables: the string test (5229 5)",
        'require "variables";\nset "x" "yes";\nif string :is "${x}" "yes" { discard; }',
        LIST_MAIL,
        ["discard"],
    ),
    # RFC 5228 2.4.2.4 encoded-character
    (
        "encoded-character: ${hex:24 24} is $$ (5228 2.4.2.4)",
        'require "encoded-character";\nif header :contains "Subject" "$${hex:24 24}" { discard; }',
        message("Subject: $$$ now"),
        ["discard"],
    ),
    (
        "encoded-character: ${unicode:...}",
        'require "encoded-character";\nif header :is "Subject" "${unicode:48 49}" { discard; }',
        message("Subject: HI"),
        ["discard"],
    ),
    # RFC 5232 imap4flags
    (
        "imap4flags: addflag sets the flags of the implicit keep (5232 3)",
        'require "imap4flags";\naddflag "\\\\Seen";\naddflag ["\\\\Flagged", "\\\\Seen"];',
        BOSS,
        ["implicit keep flags=\\Seen \\Flagged"],
    ),
    (
        "imap4flags: fileinto :flags overrides, removeflag removes (5232 5)",
        'require ["imap4flags", "fileinto"];\nsetflag "\\\\Seen \\\\Answered";\nremoveflag "\\\\seen";\n'
        'fileinto :flags "$Label1" "Boss";\nkeep;',
        BOSS,
        ["fileinto Boss flags=$Label1", "keep flags=\\Answered"],
    ),
    (
        "imap4flags: hasflag tests the internal variable (5232 4)",
        'require "imap4flags";\naddflag "Junk";\nif hasflag :contains "junk" { discard; }',
        BOSS,
        ["discard"],
    ),
    (
        "imap4flags: a named flag variable (5232 3)",
        'require ["imap4flags", "variables", "fileinto"];\nsetflag "v" "\\\\Flagged";\n'
        'if header :contains "From" "boss" { fileinto :flags "${v}" "INBOX.From Boss"; }',
        BOSS,
        ["fileinto INBOX.From Boss flags=\\Flagged"],
    ),
    # RFC 5173 body
    (
        "body: :text :contains (5173 5)",
        'require "body";\nif body :text :contains "MAKE MONEY FAST" { discard; }',
        message("Subject: x", body="Please make money fast.\r\n"),
        ["discard"],
    ),
    (
        "body: :content picks parts by type (5173 5.2)",
        'require "body";\nif body :content "text/html" :contains "<b>" { discard; }',
        message("Content-Type: text/plain", body="<b>not html</b>\r\n"),
        ["implicit keep"],
    ),
    # RFC 5230 vacation and RFC 6131 vacation-seconds
    (
        "vacation: the first example (5230 3)",
        'require "vacation";\nif header :contains "subject" "cyrus" {\n'
        '    vacation "I\'m out -- send mail to cyrus-bugs";\n} else {\n'
        '    vacation "I\'m out -- call me at 321-1234";\n}',
        message("Subject: cyrus bug"),
        ["implicit keep", "vacation 604800s subject=None from=None I'm out -- send mail to cyrus-bugs"],
    ),
    (
        "vacation: :days, :subject and :from (5230 4)",
        'require "vacation";\nvacation :days 3 :subject "Away" :from "me@example.com" "Back Monday";',
        BOSS,
        ["implicit keep", "vacation 259200s subject=Away from=me@example.com Back Monday"],
    ),
    (
        "vacation-seconds: :seconds (6131 2)",
        'require ["vacation", "vacation-seconds"];\nvacation :seconds 1800 "Soon";',
        BOSS,
        ["implicit keep", "vacation 1800s subject=None from=None Soon"],
    ),
    # RFC 5231 relational
    (
        "relational: :value gt with i;ascii-numeric (5231 6)",
        'require ["relational", "comparator-i;ascii-numeric"];\n'
        'if header :value "gt" :comparator "i;ascii-numeric" ["x-priority"] ["3"] { discard; }',
        message("X-Priority: 4"),
        ["discard"],
    ),
    (
        "relational: :count counts addresses (5231 6)",
        'require ["relational", "comparator-i;ascii-numeric"];\n'
        'if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"] { discard; }',
        message("To: a@x.example, b@x.example", "Cc: c@x.example"),
        ["discard"],
    ),
    # RFC 5233 subaddress
    (
        "subaddress: envelope :detail (5233 4)",
        'require ["envelope", "subaddress", "fileinto"];\n'
        'if envelope :detail "to" "mta-filters" { fileinto "inbox.ietf-mta-filters"; }',
        BOSS,
        ["fileinto inbox.ietf-mta-filters"],
        {"recipient": "ken+mta-filters@example.org"},
    ),
    (
        "subaddress: no separator, no detail to match (5233 4)",
        'require ["envelope", "subaddress"];\nif envelope :detail "to" "" { discard; }',
        BOSS,
        ["implicit keep"],
    ),
    (
        "subaddress: :user drops the detail (5233 4)",
        'require ["envelope", "subaddress"];\nif envelope :user "to" "ken" { discard; }',
        BOSS,
        ["discard"],
        {"recipient": "ken+x@example.org"},
    ),
    # RFC 5260 date and index
    (
        "date: the Date field shown in the server's zone (5260 4)",
        'require "date";\nif date :is "date" "date" "2026-12-07" { discard; }',
        DATED,
        ["discard"],
    ),
    (
        "date: :originalzone keeps the sender's zone (5260 4.1)",
        'require "date";\nif date :originalzone :is "date" "hour" "21" { discard; }',
        DATED,
        ["discard"],
    ),
    (
        "date: :zone converts (5260 4.1)",
        'require "date";\nif date :zone "+0100" :is "date" "time" "03:15:00" { discard; }',
        DATED,
        ["discard"],
    ),
    (
        "index: :index 1 :last picks the oldest Received, its date after the ';' (5260 7)",
        'require ["date", "index"];\nif date :index 1 :last :is "received" "hour" "23" { discard; }',
        DATED,
        ["discard"],
    ),
    (
        "index: :index 2 picks the second field (5260 7)",
        'require ["index"];\nif header :index 2 :contains "received" "from b" { discard; }',
        DATED,
        ["discard"],
    ),
    (
        "currentdate: :value ge on the hour (5260 5)",
        'require ["date", "relational"];\nif currentdate :value "ge" "hour" "09" { discard; }',
        BOSS,
        ["discard"],
    ),
    # RFC 7352 duplicate
    (
        "duplicate: a Message-ID seen before (7352 3)",
        'require "duplicate";\nif duplicate { discard; }',
        BOSS,
        ["discard"],
        {"seen": lambda key: key.endswith("<1@x>")},
    ),
    (
        "duplicate: a new Message-ID (7352 3)",
        'require "duplicate";\nif duplicate { discard; }',
        BOSS,
        ["implicit keep"],
    ),
    # RFC 5429 reject/ereject
    (
        "reject: the reason is given back (5429 2.2)",
        'require "reject";\nif header :contains "from" "coyote@desert.example.org" {\n'
        '    reject "I am not taking mail from you.";\n}',
        message("From: coyote@desert.example.org"),
        ["reject I am not taking mail from you."],
    ),
    ("ereject (5429 2.1)", 'require "ereject";\nereject "no";', BOSS, ["ereject no"]),
    # RFC 3894 copy
    (
        "copy: redirect :copy keeps the implicit keep (3894 3)",
        'require "copy";\nredirect :copy "b@example.com";',
        BOSS,
        ["implicit keep", "redirect :copy b@example.com"],
    ),
    (
        "copy: fileinto :copy keeps it too (3894 3)",
        'require ["copy", "fileinto"];\nfileinto :copy "Archive";',
        BOSS,
        ["implicit keep", "fileinto Archive"],
    ),
    # RFC 5490 mailbox
    (
        "mailbox: fileinto :create (5490 3.2)",
        'require ["fileinto", "mailbox"];\nfileinto :create "INBOX.new";',
        BOSS,
        ["fileinto :create INBOX.new"],
    ),
    (
        "mailbox: mailboxexists (5490 3.1)",
        'require ["fileinto", "mailbox"];\nif mailboxexists "Spam" { fileinto "Spam"; }',
        BOSS,
        ["fileinto Spam"],
        {"mailboxes": frozenset({"INBOX", "Spam"})},
    ),
    (
        "mailbox: mailboxexists of a missing folder (5490 3.1)",
        'require ["fileinto", "mailbox"];\nif mailboxexists "Spam" { fileinto "Spam"; }',
        BOSS,
        ["implicit keep"],
    ),
    # RFC 5235 spamtest
    (
        "spamtest: 1-10 from the filter's score (5235 3.1)",
        'require ["spamtest", "fileinto", "relational", "comparator-i;ascii-numeric"];\n'
        'if spamtest :value "ge" :comparator "i;ascii-numeric" "6" { fileinto "Junk"; }',
        BOSS,
        ["fileinto Junk"],
        {"spam_percent": 80},
    ),
    (
        "spamtest: 0 when nothing tested (5235 3.1)",
        'require ["spamtest", "relational", "comparator-i;ascii-numeric"];\n'
        'if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { discard; }',
        BOSS,
        ["discard"],
    ),
    (
        "spamtestplus: :percent (5235 3.2)",
        'require ["spamtestplus", "relational", "comparator-i;ascii-numeric"];\n'
        'if spamtest :percent :value "gt" :comparator "i;ascii-numeric" "50" { discard; }',
        BOSS,
        ["discard"],
        {"spam_percent": 51},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_extension_example_gives_the_actions_its_rfc_says(case: tuple) -> None:  # type: ignore[type-arg]
    assert_case(case)
