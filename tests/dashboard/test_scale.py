"""Lists stay fast at 10,000 accounts: every page costs a fixed number of
queries, whatever the number of rows (no query per row)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import sample_message
from mailboxes import store
from mailboxes.models import Account, Alias, Domain, LoginRecord

from .conftest import client_as

MANY = 10_000
# Session, user, the actor (2), the page's own (a list: COUNT and one page; the
# overview: 7), and a SAVEPOINT/RELEASE pair per store call inside the test's transaction.
MAX_QUERIES = 16
PAGES = [
    "/manage/",
    "/manage/accounts/",
    "/manage/accounts/?order=usage",
    "/manage/accounts/?order=login",
    "/manage/accounts/?q=user01&domain=example.test&page=2",
    "/manage/domains/",
    "/manage/aliases/",
    "/manage/aliases/?q=user0",
    "/manage/queue/",
    "/manage/audit/",
]


def add_many_accounts(team) -> None:  # type: ignore[no-untyped-def]
    """10,000 accounts with usage, logins, admin roles and aliases, inserted
    in bulk (the store's create_account would take minutes to make them)."""
    domain = Domain.objects.get(name="example.test")
    rows = Account.objects.bulk_create(
        [
            Account(
                address=f"user{i:05}@example.test", domain=domain, quota=10**6, used_bytes=i * 97 % 10**6, password="!"
            )
            for i in range(MANY)
        ],
        batch_size=2500,
    )
    LoginRecord.objects.bulk_create(
        [LoginRecord(account=a, protocol=p, ip="192.0.2.1") for a in rows[::3] for p in ("imap", "pop3")],
        batch_size=2500,
    )
    Account.admin_domains.through.objects.bulk_create(
        [Account.admin_domains.through(account_id=a.id, domain_id=domain.id) for a in rows[::50]]
    )
    Alias.objects.bulk_create(
        [
            Alias(source=f"alias{i:05}@example.test", domain=domain, targets=[rows[i].address])
            for i in range(0, MANY, 5)
        ],
        batch_size=2500,
    )


def queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.slow
def test_every_list_costs_the_same_queries_for_four_accounts_and_ten_thousand(team, django_assert_max_num_queries):
    store.deliver(
        sample_message(to="x@far.test"), ["x@far.test"], "alice@example.test", sender_account_id=team.alice.id
    )
    client = client_as(team, "superuser")
    client.get("/manage/")  # a session's first request also records the signed-in browser (store.note_web_session)
    few = {url: queries(client, url) for url in PAGES}
    add_many_accounts(team)
    many = {url: queries(client, url) for url in PAGES}
    assert many == few
    for url in PAGES:
        with django_assert_max_num_queries(MAX_QUERIES):
            client.get(url)


@pytest.mark.slow
def test_the_account_list_pages_through_ten_thousand_accounts(team):
    add_many_accounts(team)
    for actor in (team.actor("superuser"), team.actor("admin_a")):
        first = store.admin_list_accounts(actor, query="user", per_page=100)
        last = store.admin_list_accounts(actor, query="user", per_page=100, page=first.pages)
        assert (first.total, first.pages, len(last.items)) == (MANY, 100, 100)
        assert last.items[-1].address == "user09999@example.test"
        admins = [a for a in first.items if a.is_domain_admin]
        assert [a.address for a in admins] == ["user00000@example.test", "user00050@example.test"]
        assert first.items[0].last_login is not None and first.items[1].last_login is None
        example = next(d for d in store.admin_list_domains(actor).items if d.name == "example.test")
        assert example.accounts == MANY + 3 and example.aliases == MANY // 5
    assert store.admin_list_accounts(team.actor("admin_b"), query="user").total == 0
