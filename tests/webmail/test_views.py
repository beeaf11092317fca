"""The webmail's pages through Django's test client: what each shows and does,
and the security headers on every one of them."""

from __future__ import annotations

import email
import json
from email import policy

import pytest
from django.test import Client

from conftest import PASSWORDS, sample_message
from mailboxes import store
from mailboxes.models import Domain

from .helpers import deliver_to, folder_id, with_attachments


def _page_urls(alice) -> list[str]:  # type: ignore[no-untyped-def]
    inbox, uid = deliver_to(alice.address, with_attachments())
    return [
        "/mail/",
        f"/mail/f/{inbox}/",
        f"/mail/m/{inbox}/{uid}/",
        "/mail/compose/",
        "/mail/settings/",
        "/mail/folders/",
        "/mail/search/?q=report",
        "/mail/login/",
    ]


def test_every_webmail_page_carries_a_strict_content_security_policy(alice, alice_client):
    for url in _page_urls(alice):
        response = alice_client.get(url, follow=True)
        assert response.status_code == 200, url
        csp = response["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "name, media_type", [("mail.css", "text/css"), ("mail.js", "text/javascript"), ("clip.svg", "image/svg+xml")]
)
def test_the_webmail_serves_its_own_assets_to_anyone(db, name, media_type):
    response = Client().get(f"/mail/assets/{name}")
    assert response.status_code == 200 and response["Content-Type"].startswith(media_type)
    assert Client().get("/mail/assets/..%2fwebmail%2furls.py").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(users):
    response = Client().get("/mail/f/1/")
    assert response.status_code == 302 and response["Location"].startswith("/mail/login/?next=/mail/f/1/")
    assert Client().get("/").headers["Location"] == "/mail/"
    assert Client().get("/mail/f/1/state", HTTP_ACCEPT="application/json").status_code == 401


def test_login_with_address_and_password_then_logout(alice):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/mail/login/")
    token = page.cookies["csrftoken"].value
    wrong = client.post("/mail/login/", {"address": alice.address, "password": "nope", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 403 and b"Wrong address or password" in wrong.content
    ok = client.post(
        "/mail/login/",
        {
            "address": "Alice@Example.test",
            "password": PASSWORDS[alice.address],
            "csrfmiddlewaretoken": token,
            "next": "/mail/settings/",
        },
    )
    assert ok.status_code == 302 and ok["Location"] == "/mail/settings/"
    session_cookie = ok.cookies["sessionid"]
    assert session_cookie["httponly"] and session_cookie["samesite"] == "Lax"
    assert client.get("/mail/settings/").status_code == 200
    token = client.cookies["csrftoken"].value  # rotated at login
    assert client.get("/mail/logout/").status_code == 405  # a GET never signs out
    assert client.post("/mail/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.get("/mail/settings/").status_code == 302


def test_login_refuses_an_offsite_next_url(alice):
    response = Client().post(
        "/mail/login/", {"address": alice.address, "password": PASSWORDS[alice.address], "next": "https://evil.test/"}
    )
    assert response["Location"] == "/mail/"


def test_repeated_failed_logins_are_throttled_even_with_the_right_password(alice):
    client = Client()
    for _ in range(12):
        client.post("/mail/login/", {"address": alice.address, "password": "guess"})
    response = client.post("/mail/login/", {"address": alice.address, "password": PASSWORDS[alice.address]})
    assert response.status_code == 403 and b"Too many failed logins" in response.content


def test_state_changes_need_a_csrf_token(alice):
    inbox, uid = deliver_to(alice.address, sample_message())
    client = Client(enforce_csrf_checks=True)
    from .helpers import signed_in

    client.cookies = signed_in(alice.address).cookies
    response = client.post(f"/mail/f/{inbox}/act", {"uid": uid, "action": "delete"})
    assert response.status_code == 403
    assert store.message_page(alice.id, inbox).total == 1
    for url, data in (
        ("/mail/compose/", {"to": "bob@example.test", "action": "send"}),
        ("/mail/settings/", {"vacation_days": "7", "forward_to": "eve@evil.test"}),
        ("/mail/settings/password", {"old": PASSWORDS[alice.address], "new": "x" * 9, "again": "x" * 9}),
        ("/mail/folders/", {"op": "create", "name": "x"}),
        ("/mail/logout/", {}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert store.get_preferences(alice.id).forward_to == ""


def test_folder_list_shows_unread_counts_special_folders_first_and_pages(alice, alice_client):
    store.create_folder(alice.id, "Aardvark")
    for n in range(55):
        deliver_to(alice.address, sample_message(subject=f"Message {n:02d}", body=f"Body {n}\r\n"))
    inbox = folder_id(alice.id, "INBOX")
    page = alice_client.get(f"/mail/f/{inbox}/").content.decode()
    names = [n for n in ("Inbox", "Drafts", "Sent", "Archive", "Junk", "Trash", "Aardvark")]
    assert [page.index(f">{n}") for n in names] == sorted(page.index(f">{n}") for n in names)
    assert '<span class="count">55</span>' in page
    assert "Message 54" in page and "Message 04" not in page and "Page 1 of 2" in page
    second = alice_client.get(f"/mail/f/{inbox}/?page=2").content.decode()
    assert "Message 04" in second and "Message 54" not in second
    by_subject = alice_client.get(f"/mail/f/{inbox}/?sort=subject&dir=asc").content.decode()
    assert by_subject.index("Message 00") < by_subject.index("Message 01")


def test_opening_a_message_marks_it_read_and_shows_headers_text_and_attachments(alice, alice_client):
    inbox, uid = deliver_to(alice.address, with_attachments())
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert "Report with attachments" in page and "Bob Example &lt;bob@example.test&gt;" in page
    assert "report.pdf" in page and "grüße.txt" in page
    assert "logo" not in page.split('id="attachments"')[1].split("</ul>")[0]  # the cid: image is shown inline
    assert 'sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"' in page
    assert "\\Seen" in store.open_message(alice.id, inbox, uid).flags


def test_plain_text_is_escaped_and_links_are_clickable(alice, alice_client):
    inbox, uid = deliver_to(alice.address, sample_message(body="<b>not bold</b> see https://example.test/x\r\n"))
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page
    assert '<a href="https://example.test/x" rel="nofollow noopener noreferrer" target="_blank">' in page


def test_rfc2047_subjects_and_names_and_legacy_charsets_are_decoded(alice, alice_client):
    raw = (
        b"From: =?iso-8859-1?q?J=F6rg_M=FCller?= <jorg@example.test>\r\nTo: alice@example.test\r\n"
        b"Subject: =?utf-8?b?0J/RgNC40LLQtdGC?= =?iso-2022-jp?b?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ) + "Привет, мир\r\n".encode("koi8-r")
    inbox, uid = deliver_to(alice.address, raw)
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert "Привет" in page and "こんにちは" in page and "Jörg Müller" in page and "Привет, мир" in page


def test_attachments_download_with_attachment_disposition_and_nosniff(alice, alice_client):
    inbox, uid = deliver_to(alice.address, with_attachments())
    detail = store.open_message(alice.id, inbox, uid)
    pdf = alice_client.get(f"/mail/m/{inbox}/{uid}/part/2")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-1.4")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert pdf["X-Content-Type-Options"] == "nosniff" and "sandbox" in pdf["Content-Security-Policy"]
    text = alice_client.get(f"/mail/m/{inbox}/{uid}/part/3")
    assert text.content == "Grüße".encode() and "filename*=utf-8''gr%C3%BC%C3%9Fe.txt" in text["Content-Disposition"]
    assert detail.structure["parts"][1]["filename"] == "report.pdf"


def test_inline_images_are_served_from_the_message_and_only_raster_images(alice, alice_client):
    inbox, uid = deliver_to(alice.address, with_attachments())
    image = alice_client.get(f"/mail/m/{inbox}/{uid}/inline/1.2.2")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG") and image["Content-Disposition"].startswith("inline")
    assert alice_client.get(f"/mail/m/{inbox}/{uid}/inline/2").status_code == 404  # the PDF
    frame = alice_client.get(f"/mail/m/{inbox}/{uid}/frame")
    assert f'src="/mail/m/{inbox}/{uid}/inline/1.2.2"' in frame.content.decode()
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert "sandbox allow-same-origin" in frame["Content-Security-Policy"]
    assert "img-src 'self';" in frame["Content-Security-Policy"]


@pytest.mark.parametrize("section", ["0", "9", "1.9", "abc", "1..2", "1.2.2.1", "1"])
def test_part_urls_that_name_no_leaf_part_are_404(alice, alice_client, section):
    inbox, uid = deliver_to(alice.address, with_attachments())
    assert alice_client.get(f"/mail/m/{inbox}/{uid}/part/{section}").status_code == 404


def test_show_original_returns_the_stored_bytes_as_inert_text(alice, alice_client):
    raw = sample_message(body="<script>alert(1)</script>\r\n")
    inbox, uid = deliver_to(alice.address, raw)
    response = alice_client.get(f"/mail/m/{inbox}/{uid}/raw")
    assert response.content == raw and response["Content-Type"] == "text/plain; charset=utf-8"
    assert "sandbox" in response["Content-Security-Policy"]
    download = alice_client.get(f"/mail/m/{inbox}/{uid}/raw?download=1")
    assert download["Content-Disposition"].startswith("attachment")


def test_bulk_actions_mark_flag_move_and_delete(alice, alice_client):
    uids = [deliver_to(alice.address, sample_message(subject=f"S{n}"))[1] for n in range(4)]
    inbox, archive, trash = (folder_id(alice.id, n) for n in ("INBOX", "Archive", "Trash"))
    act = f"/mail/f/{inbox}/act"
    alice_client.post(act, {"uid": uids[:2], "action": "read"})
    alice_client.post(act, {"uid": [uids[0]], "action": "flag"})
    flags = {m.uid: m.flags for m in store.message_page(alice.id, inbox).items}
    assert "\\Seen" in flags[uids[1]] and "\\Flagged" in flags[uids[0]] and "\\Seen" not in flags[uids[2]]
    alice_client.post(act, {"uid": [uids[2]], "action": "move", "dest": archive})
    assert [m.subject for m in store.message_page(alice.id, archive).items] == ["S2"]
    alice_client.post(act, {"uid": [uids[3]], "action": "delete"})
    assert [m.subject for m in store.message_page(alice.id, trash).items] == ["S3"]
    trashed = store.message_page(alice.id, trash).items[0].uid
    alice_client.post(f"/mail/f/{trash}/act", {"uid": [trashed], "action": "delete"})
    assert store.message_page(alice.id, trash).total == 0
    assert store.message_page(alice.id, inbox).total == 2


def test_the_state_endpoint_reports_the_folders_highestmodseq(alice, alice_client):
    inbox = folder_id(alice.id, "INBOX")
    before = json.loads(alice_client.get(f"/mail/f/{inbox}/state").content)
    deliver_to(alice.address, sample_message())
    after = json.loads(alice_client.get(f"/mail/f/{inbox}/state").content)
    assert after["modseq"] > before["modseq"] and after["uidnext"] == before["uidnext"] + 1


def test_folders_are_created_renamed_and_deleted_but_special_ones_stay(alice, alice_client):
    alice_client.post("/mail/folders/", {"op": "create", "name": "Projects"})
    projects = folder_id(alice.id, "Projects")
    alice_client.post("/mail/folders/", {"op": "create", "name": "2026", "parent": projects})
    alice_client.post("/mail/folders/", {"op": "rename", "folder": projects, "name": "Work"})
    names = {r.name for r in store.folder_rows(alice.id)}
    assert {"Work", "Work/2026"} <= names and "Projects" not in names
    alice_client.post("/mail/folders/", {"op": "delete", "folder": folder_id(alice.id, "Work/2026")})
    for special in ("INBOX", "Sent"):
        response = alice_client.post(
            "/mail/folders/", {"op": "delete", "folder": folder_id(alice.id, special)}, follow=True
        )
        assert b"special folder" in response.content
    assert {r.name for r in store.folder_rows(alice.id)} >= {"INBOX", "Sent", "Work"}
    assert "Work/2026" not in {r.name for r in store.folder_rows(alice.id)}
    bad = alice_client.post("/mail/folders/", {"op": "create", "name": "a/../b"}, follow=True)
    assert b"empty or relative level" in bad.content


def test_search_by_field_and_date_over_one_folder_or_all(alice, alice_client):
    deliver_to(alice.address, sample_message(subject="Quarterly numbers", body="revenue up\r\n"))
    deliver_to(alice.address, sample_message(subject="Lunch", body="pizza?\r\n", sender="charlie@other.test"))
    inbox, archive = folder_id(alice.id, "INBOX"), folder_id(alice.id, "Archive")
    lunch = [m.uid for m in store.message_page(alice.id, inbox).items if m.subject == "Lunch"]
    store.move(alice.id, inbox, [(lunch[0], lunch[0])], "Archive")

    def found(query: str) -> str:
        return alice_client.get(f"/mail/search/?{query}").content.decode()

    assert "Quarterly numbers" in found("q=REVENUE") and "Lunch" not in found("q=REVENUE")
    assert "Lunch" in found("from=charlie") and 'in-folder">Archive' in found("from=charlie")
    assert "Lunch" not in found(f"from=charlie&folder={inbox}")
    assert "Lunch" in found(f"body=pizza&folder={archive}")
    assert "1 found" in found("subject=quarterly&since=2000-01-01")
    assert "0 found" in found("subject=quarterly&before=2000-01-01")


def test_settings_save_identity_vacation_and_forwarding(alice, alice_client):
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)  # issue #15 item 8
    response = alice_client.post(
        "/mail/settings/",
        {
            "display_name": "Alice A.",
            "signature": "Alice\r\nExample Inc.",
            "vacation_enabled": "on",
            "vacation_subject": "Away",
            "vacation_body": "Back on Monday.",
            "vacation_days": "3",
            "forward_to": "alice@elsewhere.test",
            "forward_keep_copy": "on",
            "conversations": "on",
        },
    )
    assert response.status_code == 302
    prefs = store.get_preferences(alice.id)
    assert prefs == store.Preferences(
        "Alice A.",
        "Alice\nExample Inc.",
        True,
        "Away",
        "Back on Monday.",
        3,
        "alice@elsewhere.test",
        True,
        conversations=True,
        rich_compose=False,
    )
    bad = alice_client.post("/mail/settings/", {"vacation_days": "0", "vacation_body": "x"})
    assert bad.status_code == 400 and b"vacation interval" in bad.content
    own = alice_client.post("/mail/settings/", {"vacation_days": "7", "forward_to": alice.address})
    assert own.status_code == 400 and b"its own address" in own.content


def test_password_change_needs_the_old_password_and_keeps_this_session(alice, alice_client):
    wrong = alice_client.post(
        "/mail/settings/password", {"old": "x", "new": "new-secret-1", "again": "new-secret-1"}, follow=True
    )
    assert b"not right" in wrong.content
    alice_client.post(
        "/mail/settings/password", {"old": PASSWORDS[alice.address], "new": "new-secret-1", "again": "new-secret-1"}
    )
    assert store.authenticate(alice.address, "new-secret-1") is not None
    assert alice_client.get("/mail/settings/").status_code == 200


def test_address_suggestions_come_from_past_correspondents(alice, alice_client):
    deliver_to(alice.address, sample_message(sender="Charlie Brown <charlie@other.test>"))
    raw = sample_message(sender=alice.address, to="Dora Explorer <dora@far.test>")
    store.append(alice.id, "Sent", raw)
    data = json.loads(alice_client.get("/mail/suggest?q=dor").content)
    assert data == {"groups": [], "suggestions": ["Dora Explorer <dora@far.test>"]}
    assert json.loads(alice_client.get("/mail/suggest?q=charl").content)["suggestions"] == [
        "Charlie Brown <charlie@other.test>"
    ]
    assert json.loads(alice_client.get("/mail/suggest?q=alice").content)["suggestions"] == []


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_settings_page_links_to_mail_download_and_imap_import(alice_client):
    page = alice_client.get("/mail/settings/").content.decode()
    assert 'href="/mail/settings/transfer/mail.zip"' in page
    assert 'href="/mail/settings/transfer/imports/"' in page
    assert alice_client.get("/mail/settings/transfer/mail.zip").status_code == 200
