"""The change bus: wakes sessions (IMAP IDLE, POP3, webmail) to look at the
database. What changed is always read from the database (modseq and
tombstones); an event only says "account N, folder F: look again", and,
from a change to a folder's messages that has one, the modseq the change was
given, so that an IMAP session can tell its own change (which it has already
taken in) from someone else's and spare itself the look.

One process: callbacks are called in process. Several processes: with
REDIS_URL set, events also go through Redis publish/subscribe, and one
background thread per process relays them to local subscribers.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from . import _redis as _keys

log = logging.getLogger("mailboxes.events")
Callback = Callable[[int, int], None]  # (account_id, folder_id); folder 0 = the folder list
ModseqCallback = Callable[[int, int, int], None]  # (account_id, folder_id, modseq or 0)
# The "folder" of an event that ends the account's IMAP, POP3 and POP2
# sessions (its password changed, or it signed out everywhere).
SIGN_OUT = -1
# The "folder" of an event that says the account's METADATA (RFC 5464)
# changed: its own server or mailbox entries, or the server's shared ones
# when it is the superuser who wrote them (what RFC 5465's metadata events
# report to its NOTIFY sessions).
METADATA = -2
# The "account" of events about the server itself, for every account's
# sessions that ask (no account has id 0): a change to the server's shared
# METADATA entries, which only the superuser writes (RFC 5465 5.10:
# ServerMetadataChange is every NOTIFY session's to hear).
SERVER = 0

_lock = threading.Lock()
_subscribers: dict[int, set[tuple[Callable[..., None], bool]]] = defaultdict(set)
_redis_thread: threading.Thread | None = None
_publisher = None


def subscribe(account_id: int, callback: Callback | ModseqCallback, *, with_modseq: bool = False) -> Callable[[], None]:
    """Call callback(account_id, folder_id) on every change to the account
    (``with_modseq``: callback(account_id, folder_id, modseq), modseq 0 when
    the event has none). It runs on whatever thread delivers the event: keep it
    short and thread-safe (an asyncio session uses loop.call_soon_threadsafe).
    Returns unsubscribe."""
    entry = (callback, with_modseq)
    with _lock:
        _subscribers[account_id].add(entry)
    _start_redis_listener()

    def unsubscribe() -> None:
        with _lock:
            subs = _subscribers.get(account_id)
            if subs is not None:
                subs.discard(entry)
                if not subs:
                    del _subscribers[account_id]

    return unsubscribe


def _dispatch(account_id: int, folder_id: int, modseq: int = 0) -> None:
    with _lock:
        callbacks = list(_subscribers.get(account_id, ()))
    for callback, with_modseq in callbacks:
        try:
            if with_modseq:
                callback(account_id, folder_id, modseq)
            else:
                callback(account_id, folder_id)
        except Exception:  # one bad subscriber must not stop the others
            log.exception("event subscriber failed")


def publish(account_id: int, folder_id: int, modseq: int = 0) -> None:
    """``modseq``: the one the change was given, when it was one change to
    the folder's messages under one new modseq (0: say nothing of it)."""
    if settings.REDIS_URL:
        try:
            # Our own listener thread relays it to this process's subscribers too.
            data = f"{folder_id} {modseq}" if modseq else str(folder_id)
            _publish(f"{channel_prefix()}{account_id}", data)
            return
        except Exception as exc:  # the data is committed; sessions also poll
            log.warning("event bus publish failed: %s", exc)
    _dispatch(account_id, folder_id, modseq)


def publish_on_commit(account_id: int, folder_id: int, modseq: int = 0) -> None:
    transaction.on_commit(lambda: publish(account_id, folder_id, modseq))


def channel_prefix() -> str:
    """Under the database's name, as the store's keys are (_redis.prefix):
    Redis publish/subscribe ignores database numbers, so two installations
    or test databases that share one Redis would otherwise wake, and sign
    out, each other's sessions."""
    return _keys.prefix("account")


_connections = threading.local()


def _publish(channel: str, data: str) -> None:
    """PUBLISH on this thread's own connection: one is made per publishing
    thread (the store's threads), so the client's per-call machinery
    (connection pool, argument checks, retry wrapper; a few percent of an
    SMTP delivery's CPU) is left out. A broken connection is made again
    once; a second failure is the caller's to log."""
    for attempt in (1, 2):
        connection = getattr(_connections, "redis", None)
        if connection is None:
            connection = _connections.redis = _redis().connection_pool.make_connection()
        try:
            connection.send_command("PUBLISH", channel, data)
            connection.read_response()
            return
        except Exception:
            connection.disconnect()
            _connections.redis = None
            if attempt == 2:
                raise


def _redis():  # type: ignore[no-untyped-def]
    global _publisher
    if _publisher is None:
        import redis

        _publisher = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _publisher


def _start_redis_listener() -> None:
    global _redis_thread
    if not settings.REDIS_URL or (_redis_thread is not None and _redis_thread.is_alive()):
        return
    with _lock:
        if _redis_thread is not None and _redis_thread.is_alive():
            return
        _redis_thread = threading.Thread(target=_listen_forever, name="event-bus", daemon=True)
        _redis_thread.start()


def _listen_forever() -> None:
    import time

    import redis

    while True:
        try:
            client = redis.Redis.from_url(settings.REDIS_URL)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            prefix = channel_prefix()
            pubsub.psubscribe(prefix + "*")
            for message in pubsub.listen():
                channel = message["channel"].decode()
                try:
                    account_id = int(channel[len(prefix) :])
                    folder, _, modseq = message["data"].partition(b" ")
                    folder_id, change = int(folder), int(modseq or 0)
                except ValueError:
                    continue
                _dispatch(account_id, folder_id, change)
        except Exception as exc:
            log.warning("event bus listener lost Redis (%s); retrying", exc)
            time.sleep(1)
