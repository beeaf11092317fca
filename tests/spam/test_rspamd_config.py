"""The project's rspamd config, run by the suite's rspamd: the test patterns
decide the action and a plain message is left alone."""

from __future__ import annotations

import json
import urllib.request

from .conftest import GTUBE_ADD_HEADER, GTUBE_REJECT, GTUBE_REWRITE_SUBJECT


def checkv2(url: str, body: str) -> dict:
    message = f"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\n{body}\r\n".encode()
    request = urllib.request.Request(
        f"{url}/checkv2", data=message, method="POST", headers={"IP": "203.0.113.5", "From": "a@remote.test"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_the_project_config_lets_the_test_patterns_choose_each_action(rspamd):
    assert checkv2(rspamd.url, GTUBE_REJECT)["action"] == "reject"
    assert checkv2(rspamd.url, GTUBE_ADD_HEADER)["action"] == "add header"
    assert checkv2(rspamd.url, GTUBE_REWRITE_SUBJECT)["action"] == "rewrite subject"


def test_rspamd_does_not_repeat_the_spf_dkim_and_dmarc_checks_the_mx_made(rspamd):
    symbols = checkv2(rspamd.url, "A plain note about lunch tomorrow.")["symbols"]
    assert not [name for name in symbols if name.startswith(("R_SPF", "R_DKIM", "DMARC"))]
