"""The webmail's Filters page through Django's test client: the rule
builder writes readable Sieve, the raw editor stores checked scripts and
shows an error at its line, and each account sees only its own script."""

from __future__ import annotations

import pytest

from conftest import sample_message
from mailboxes import sieve, store
from mailboxes.sieve import builder


def test_filters_page_shows_an_empty_editor_and_the_rule_form(alice, alice_client):
    response = alice_client.get("/mail/filters/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="rule-form"' in html and 'id="script"' in html and 'Filter script "webmail"' in html
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_filters_page_needs_a_login(client):
    response = client.get("/mail/filters/")
    assert response.status_code == 302 and response["Location"].startswith("/mail/login/")


def test_adding_a_rule_writes_readable_sieve_and_activates_it(alice, alice_client):
    response = alice_client.post(
        "/mail/filters/",
        {
            "do": "rule",
            "field": "from",
            "match": "contains",
            "value": "bank",
            "action": "move",
            "argument": "Finance",
            "stop": "on",
        },
    )
    assert response.status_code == 302
    name, text = store.active_script(alice.id)  # type: ignore[misc]
    assert name == "webmail"
    assert 'if header :contains "from" "bank" {\n    fileinto :create "Finance";\n    stop;\n}' in text
    store.deliver(sample_message(subject="statement", sender="bank@far.test"), [alice.address], "bank@far.test")
    assert store.folder_status(alice.id, "Finance").messages == 1


def test_a_second_rule_is_added_after_the_first_with_the_requires_it_needs(alice, alice_client):
    for rule in (
        {"field": "subject", "value": "news", "action": "read"},
        {"field": "spam", "value": "7", "action": "discard"},
    ):
        assert alice_client.post("/mail/filters/", {"do": "rule", "match": "contains", **rule}).status_code == 302
    _, text = store.active_script(alice.id)  # type: ignore[misc]
    assert text.index('addflag "\\\\Seen"') < text.index("if spamtest")
    assert sieve.compile_script(text).extensions >= {"imap4flags", "spamtest", "relational"}


@pytest.mark.parametrize(
    "rule, words",
    [
        ({"field": "size", "value": "big", "action": "discard"}, "a size is a number"),
        ({"field": "spam", "value": "\u00b2", "action": "discard"}, "a spam score is a number from 1 to 10"),
        ({"field": "from", "value": "x", "action": "forward", "argument": "not an address"}, "email address"),
        ({"field": "header", "header": "bad name:", "value": "x", "action": "discard"}, "header field name"),
        ({"field": "from", "value": "", "action": "discard"}, "needs a value"),
        ({"field": "from", "value": "x", "action": "move", "argument": ""}, "name the folder"),
    ],
)
def test_a_rule_that_cannot_be_written_is_refused_with_a_reason(alice, alice_client, rule, words):
    response = alice_client.post("/mail/filters/", {"do": "rule", "match": "contains", **rule})
    assert response.status_code == 400
    assert words in response.content.decode()
    assert store.active_script(alice.id) is None


def test_raw_editor_saves_a_valid_script(alice, alice_client):
    response = alice_client.post("/mail/filters/", {"do": "script", "script": "discard;\r\n"})
    assert response.status_code == 302
    assert store.active_script(alice.id) == ("webmail", "discard;\n")


def test_raw_editor_shows_an_invalid_script_again_with_the_error_at_its_line(alice, alice_client):
    response = alice_client.post("/mail/filters/", {"do": "script", "script": 'keep;\nfileinto "x";\n'})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Line 2: fileinto needs require &quot;fileinto&quot;" in html
    assert '<li class="bad" id="error-line"><code>fileinto &quot;x&quot;;</code></li>' in html
    assert store.active_script(alice.id) is None


def test_the_page_edits_the_active_script_a_managesieve_client_uploaded(alice, alice_client):
    store.put_script(alice.id, "from-thunderbird", "keep;")
    store.activate_script(alice.id, "from-thunderbird")
    assert 'Filter script "from-thunderbird"' in alice_client.get("/mail/filters/").content.decode()
    alice_client.post("/mail/filters/", {"do": "script", "script": "discard;"})
    assert store.active_script(alice.id) == ("from-thunderbird", "discard;")


def test_each_account_sees_only_its_own_filters(alice, bob, alice_client):
    store.put_script(bob.id, "bobs", "# bob's secret rule\nkeep;")
    store.activate_script(bob.id, "bobs")
    assert "secret" not in alice_client.get("/mail/filters/").content.decode()


def test_rule_text_quotes_what_the_user_typed():
    _, text = builder.rule_text(builder.Rule(field="subject", value='say "hi" \\ now', action="discard"))
    assert 'header :contains "subject" "say \\"hi\\" \\\\ now"' in text
    sieve.compile_script(text)
