"""The dashboard's cast: a superuser (root), two domain admins (alice of
example.test, charlie of other.test) and an ordinary account (bob)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from conftest import PASSWORDS
from mailboxes import store

ROOT = "root@example.test"
ROOT_PASSWORD = "root-secret"
ROLES = ("superuser", "admin_a", "admin_b", "ordinary")


@dataclass
class Team:
    root: store.AccountInfo
    alice: store.AccountInfo  # admin of example.test
    bob: store.AccountInfo  # ordinary, example.test
    charlie: store.AccountInfo  # admin of other.test

    def account(self, role: str) -> store.AccountInfo:
        return {"superuser": self.root, "admin_a": self.alice, "admin_b": self.charlie, "ordinary": self.bob}[role]

    def actor(self, role: str) -> store.Actor:
        actor = store.admin_actor(self.account(role).id)
        assert actor is not None
        return actor


def make_team() -> Team:
    store.create_domain("example.test")
    store.create_domain("other.test")
    users = {addr: store.create_account(addr, pw) for addr, pw in PASSWORDS.items()}
    root = store.create_account(ROOT, ROOT_PASSWORD, superuser=True)
    team = Team(root, users["alice@example.test"], users["bob@example.test"], users["charlie@other.test"])
    superuser = team.actor("superuser")
    store.admin_set_roles(superuser, team.alice.id, admin_domains=["example.test"])
    store.admin_set_roles(superuser, team.charlie.id, admin_domains=["other.test"])
    return team


@pytest.fixture
def team(db) -> Team:  # type: ignore[no-untyped-def]
    """Rolled back after each test: for the test client (same thread)."""
    return make_team()


@pytest.fixture
def live_team(transactional_db) -> Team:  # type: ignore[no-untyped-def]
    """Committed: for the live server and the mail servers' threads."""
    return make_team()


def client_as(team: Team, role: str | None, **kwargs) -> Client:  # type: ignore[no-untyped-def]
    """A test client logged in as that role (None: anonymous)."""
    client = Client(**kwargs)
    if role is not None:
        from django.contrib.auth import get_user_model

        client.force_login(get_user_model().objects.get(pk=team.account(role).id))
    return client
