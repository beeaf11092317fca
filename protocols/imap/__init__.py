"""IMAP4rev1 server (RFC 3501) with the extensions modern clients use, and
IMAP4rev2 (RFC 9051) for a session that enables it.

Implementation notes
--------------------

The pure half (no I/O, no Django):

* :mod:`.parser`: ``parse_command(buf, ...) -> (command, used)``; its
  docstring holds the parser's notes (what is supported, limits,
  leniencies). :mod:`.commands` are the typed commands it returns;
  :mod:`.grammar`, :mod:`.message_commands`, :mod:`.ext_commands`, :mod:`.fetch`, :mod:`.search`,
  :mod:`.sequence` and :mod:`.utf7` its parts; :mod:`.errors` what it raises.
* :mod:`.encoder`: response bytes, ENVELOPE and BODYSTRUCTURE from the dicts
  stored at delivery. :mod:`.fetch_items` renders FETCH data and says what
  the store must read; :mod:`.sections` cuts BODY[section] from the stored
  bytes by the stored offsets; :mod:`.binary` does BINARY[section] (RFC
  3516): the same cut with the transfer encoding undone, sent as a literal8
  ``~{n}`` when it holds NUL, :class:`.binary.UnknownCTE` becoming
  ``NO [UNKNOWN-CTE]`` in :mod:`.cmd_fetch`; :mod:`.mailbox_list` answers LIST/LSUB;
  :mod:`.sorting` orders SORT results (RFC 5256 base subject);
  :mod:`.view` is a session's numbering of its selected mailbox.

The server half:

* :mod:`.server` starts the "imap" (STARTTLS) and "imaps" listeners;
  :mod:`.connection` does the I/O (continuations, literals, limits, IDLE,
  STARTTLS, the autologout timer, BYE at shutdown); :mod:`.state` holds the
  session state and the one command table, maps store errors to response
  codes and reports mailbox changes; the handlers are grouped by command:
  :mod:`.cmd_session`, :mod:`.cmd_mailbox`, :mod:`.cmd_fetch`,
  :mod:`.cmd_update`, :mod:`.cmd_search` (SEARCH, SORT and ESORT),
  :mod:`.cmd_thread` (THREAD, RFC 5256; the threading itself is the
  store's, ``mailboxes/store/threading.py``).
* Every store call goes through ``protocols.dbcall`` (on the bounded thread
  pool; each store function decides its own transaction, ``store/_db.py``);
  FETCH and SEARCH read in pages by UID.
* Changes made elsewhere are read from the database (``changes_since``)
  when the event bus says the selected mailbox changed, on NOOP/CHECK/IDLE,
  after an APPEND/COPY into it, and every ``MAIL_POLL_INTERVAL`` seconds
  (IDLE, or the next command) in case an event was lost. EXPUNGE responses
  wait while a FETCH, STORE, SEARCH, SORT, THREAD, COPY or MOVE by sequence number
  is answered (RFC 3501 5.5, 7.4.1); the message stays in the view until then.

``\\Recent`` (RFC 3501 2.3.2) is a session's own: a read-write SELECT, and
a read-write session learning of new messages, claim the unclaimed ones in
the store (``store.select_folder(claim_recent=True)``, ``store.claim_recent``;
atomic across workers), so each message is recent in one such session only;
a read-only session sees what is unclaimed without taking it (6.3.2). The
view holds the UID ranges (:mod:`.view`); FETCH FLAGS, STORE's FETCH,
SEARCH RECENT/NEW/OLD and ``* n RECENT`` are answered from them.

QRESYNC (RFC 7162 3.2): ``ENABLE QRESYNC`` sets ``Session.qresync`` (and
CONDSTORE); the view then renders expunges as ``* VANISHED`` (``view.vanished``,
same timing rules as EXPUNGE) and STORE/FETCH flag changes carry UID and MODSEQ.
``SELECT (QRESYNC ...)`` (:mod:`.cmd_mailbox`) and ``UID FETCH ... (CHANGEDSINCE
m VANISHED)`` (:mod:`.cmd_fetch`) read ``store.vanished_since`` (the tombstones,
kept for the folder's life, so exact; seq-match-data is parsed and not needed)
and page the changed messages as FETCH does. A client modseq above the
mailbox's own gets every known UID that does not exist (:func:`.view.missing`) and
every known message's flags.

IMAP4rev2 (RFC 9051 appendix E): advertised beside IMAP4rev1; ``ENABLE
IMAP4rev2`` sets ``Session.rev2`` for the rest of the connection. A rev2
session never claims or shows ``\\Recent``: SELECT/EXAMINE claim nothing and
send no RECENT, ``Session._recent_among`` asks nothing, so the view's recent
ranges stay empty and FETCH FLAGS, RECENT lines and SEARCH RECENT/NEW/OLD
follow from that. :mod:`.cmd_search` answers a SEARCH without RETURN as
``RETURN (ALL)`` (ESEARCH, 6.4.4). The rest of rev2 (``OK [CLOSED]``, STATUS
SIZE/DELETED, the folded-in extensions) is shared with rev1 sessions.

SEARCHRES (RFC 5182): the parser marks ``$`` as :data:`.sequence.SAVED` (a
whole sequence-set, never part of one) and accepts SAVE as a return option;
the saved result lives in the view (``MailboxView.saved``, UID ranges), so
SELECT/EXAMINE start it empty and UNSELECT/CLOSE drop it with the view (2.1).
:mod:`.cmd_search` reads the old ``$`` before a SAVE empties it, and the
new one is written only on success, so a SEARCH ... SAVE answered NO leaves
it empty; one answered BAD by the parser says so (``ParseError.empties_saved``)
and :mod:`.connection` empties it. A session runs its commands one at a time
in order, which is the wait RFC 5182 2.2 asks for.

SORT, THREAD and RFC 5267: THREAD (:mod:`.cmd_thread`) reads
``store.thread_rows`` and links them with ``store.threading.thread`` (the
webmail's too); base subjects are the store's one implementation, shared
with SORT (:mod:`.sorting`). ESORT and PARTIAL answer from the SORT or
SEARCH result in :mod:`.cmd_search` (:mod:`.cmd_context` renders PARTIAL).
Live contexts (``RETURN (UPDATE)``) are :class:`.contexts.LiveContext`
objects in the selected mailbox's view, so they end with it; after a
command in which the view saw a change ``Session.execute`` has
``cmd_context.refresh`` run them again and send ADDTO/REMOVEFROM, and the
view itself reports expunged members just before their EXPUNGE responses
(RFC 5267 4.3). Each live context costs one search per such command.

Keywords (RFC 3501 7.2.6): a session's FLAGS starts from the folder's
keyword set kept in the store (``FolderView.keywords``, only grows) and
learns more (``MailboxView.learn_flags``, FLAGS and PERMANENTFLAGS sent
again) from ``Changes.keywords`` on every look, from each FETCH page and
from STORE's results, always before the FETCH lines that show them.

PREVIEW (RFC 8970) is the preview stored with the blob at delivery
(:mod:`.fetch_items`); OBJECTID (RFC 8474) ids are derived from stored facts,
no column of their own (:mod:`.objectid` says how). SAVEDATE (RFC 8514):
no save date is kept, so FETCH SAVEDATE is NIL, SAVEDATESUPPORTED is
``NOT ALL`` and the SAVED* keys are internal-date keys (:mod:`.search`).
COMPRESS=DEFLATE (RFC 4978) lives in :mod:`.connection` (every read and
write) and ``cmd_session.compress``.

UTF8=ACCEPT (RFC 6855): ``ENABLE UTF8=ACCEPT`` sets ``Session.utf8``; the
connection passes it to the parser (``parse_command(utf8=...)``: UTF-8
mailbox names, ``APPEND ... UTF8 (literal8)``, no SEARCH CHARSET), the
mailbox handlers to ``encoder.render_mailbox`` (quoted UTF-8 instead of
modified UTF-7), and FETCH to :mod:`.fetch_items`, which gives a session
without it the ASCII ENVELOPE of :mod:`.downgrade` (RFC 6855 7, RFC 6857).

CATENATE (RFC 4469): the parser returns the parts (``Append.catenate``:
bytes for TEXT, str for a URL); :mod:`.catenate` resolves them into plain
messages before the store's append (so MULTIAPPEND stays all or nothing),
reading URLs with the pure RFC 5092 parser :mod:`.imapurl` and the FETCH
section cutter. URLAUTH (RFC 4467) is :mod:`.urlauth`: the mailbox access
keys never leave the store (``store.urlauth_sign``/``urlauth_check``/
``urlauth_reset``); CATENATE reads URLAUTH URLs through it too, and
URLAUTH=BINARY (RFC 5524) decodes with :func:`.binary.binary_entity`. METADATA
(RFC 5464) is :mod:`.metadata` over ``store.get_metadata``/``set_metadata``
(limits and permissions in the store). NOTIFY (RFC 5465) is :mod:`.notify`:
the session's ``watch`` collects the folders the event bus names, and the
connection, waiting for a command with a watch set, wakes for the bus too
and sends :func:`.notify.report` (the store publishes folder-list changes,
subscriptions included, as folder 0).

Deviations (also in README "IMAP"): INTERNALDATE is given in UTC; STORE
reports only messages whose flags changed; FETCH of a message expunged
elsewhere but not yet reported returns nothing (RFC 2180 4.1.3); one quota
root "" per account and no SETQUOTA; a FETCH refused with UNKNOWN-CTE has
set \\Seen already when it asked for BINARY without .PEEK;
NOTIFY's MessageNew fetch attributes only for SELECTED; ``$`` in QRESYNC's
known sets is BAD; a rev2 SELECT still sends ``OK [UNSEEN]``.
"""
