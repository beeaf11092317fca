"""Scripts refused before they are stored, with their line (RFC 5804 2.6
asks for it), and scripts that fail while they run (RFC 5228 2.10.6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailboxes import sieve

from .cases import message, run

REFUSED = [
    (
        "a missing semicolon is reported on the command's line",
        'require "fileinto";\nif true {\n  fileinto "a"\n}\n',
        3,
        "missing ';'",
    ),
    ("an unknown command", "keep;\n\nfrobnicate;", 3, "unknown command"),
    ("an unknown test", "if frob { keep; }", 1, "unknown test"),
    ("an unterminated string", 'keep;\nfileinto "abc;\n', 2, "unterminated string"),
    ("an unterminated multi-line string", "keep;\nreject text:\nno end\n", 2, "closing '.'"),
    ("an unterminated comment", "keep; /* no end", 1, "unterminated comment"),
    ("fileinto without require", 'fileinto "x";', 1, 'require "fileinto"'),
    ("a tag of an extension not required", 'require "fileinto";\nfileinto :copy "x";', 2, 'require "copy"'),
    ("require after another command (5228 3.2)", 'keep;\nrequire "fileinto";', 2, "require must come"),
    ("an extension we do not have (5228 3.2)", 'require ["fileinto", "regex"];', 1, "unsupported extension"),
    ("else without if", "keep;\nelse { keep; }", 2, "else without if"),
    ("two match types", 'if header :is :contains "a" "b" { keep; }', 1, "exclude each other"),
    ("an unknown comparator", 'if header :comparator "i;nope" "a" "b" { keep; }', 1, "unknown comparator"),
    (
        "i;ascii-numeric without its require",
        'if header :comparator "i;ascii-numeric" "a" "1" {keep;}',
        1,
        "comparator-i;ascii-numeric",
    ),
    ("an unknown relation", 'require "relational";\nif header :value "big" "a" "1" {keep;}', 2, "unknown relation"),
    ("a tag without its value", 'require "vacation";\nvacation :days "x";', 2, ":days expects a number"),
    ("too few arguments", "if header \"a\" { keep; }", 1, "takes 2 argument"),
    ("a test where none is taken", "keep true;", 1, "takes no test"),
    ("if without a block", "if true;", 1, "needs a block"),
    ("size without :over or :under", "if size 10 { keep; }", 1, "size needs"),
    ("an unknown date part", 'require "date";\nif currentdate :is "era" "x" { keep; }', 2, "unknown date part"),
    ("a stray closing brace", "keep;\n}", 2, "unexpected '}'"),
    ("a number in a string list", 'if header ["a", 1] "b" { keep; }', 1, "string list"),
    ("blocks nested too deeply", "if true {" * 40 + "}" * 40, 1, "nested too deeply"),
    ("a digit that is not ASCII (found by hypothesis)", "keep;\n\u00b2;", 2, "unexpected character"),
]


@pytest.mark.parametrize(("script", "line", "words"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_invalid_script_is_refused_with_its_line(script: str, line: int, words: str) -> None:
    with pytest.raises(sieve.SieveError) as refused:
        sieve.compile_script(script)
    assert refused.value.line == line
    assert words in refused.value.message


def test_script_over_the_size_limit_is_refused() -> None:
    with pytest.raises(sieve.SieveError, match="larger than 100 octets"):
        sieve.compile_script("keep;" * 30, max_bytes=100)


FAILING = [
    ("reject beside fileinto (5429 2.1)", 'require ["reject", "fileinto"];\nfileinto "a";\nreject "no";', "reject"),
    ("two rejects", 'require "reject";\nreject "a";\nreject "b";', "reject"),
    ("too many redirects", "".join(f'redirect "u{i}@example.com";' for i in range(5)), "more than 4 redirects"),
    ("a redirect to something that is not an address", 'redirect "not an address";', "invalid address"),
    (
        "too many actions",
        'require "fileinto";\n' + "".join(f'fileinto "f{i}";' for i in range(40)),
        "more than 32 actions",
    ),
    ("two vacations", 'require "vacation";\nvacation "a";\nvacation "b";', "vacation"),
]


@pytest.mark.parametrize(("script", "words"), [c[1:] for c in FAILING], ids=[c[0] for c in FAILING])
def test_script_that_cannot_be_carried_out_raises_a_runtime_error(script: str, words: str) -> None:
    with pytest.raises(sieve.SieveRuntimeError, match=words):
        run(script, message("Subject: x"))


@given(st.text(max_size=200))
def test_any_text_either_compiles_or_raises_sieve_error(text: str) -> None:
    try:
        sieve.compile_script(text)
    except sieve.SieveError:
        pass


@given(
    st.lists(
        st.sampled_from(
            [
                'if',
                'header',
                ':is',
                ':contains',
                '"a"',
                '["b", "c"]',
                '{',
                '}',
                ';',
                '(',
                ')',
                ',',
                'keep',
                'discard',
                'true',
                'not',
                'anyof',
                '10K',
                'require',
                '"fileinto"',
                'fileinto',
                'elsif',
                'else',
                'stop',
            ]
        ),
        max_size=30,
    )
)
def test_token_soup_either_compiles_and_runs_or_raises_sieve_error(tokens: list[str]) -> None:
    try:
        script = sieve.compile_script(" ".join(tokens))
    except sieve.SieveError:
        return
    sieve.evaluate(
        script,
        sieve.from_bytes(message("Subject: a")),
        sieve.Delivery(envelope=sieve.Envelope(sender="", recipient="me@example.com")),
    )
