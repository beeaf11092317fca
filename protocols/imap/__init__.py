"""IMAP4rev1 server (RFC 3501) with the extensions modern clients use, and
IMAP4rev2 (RFC 9051) for a session that enables it.

Implementation notes
--------------------

The pure half (no I/O, no Django):

* :mod:`.parser`: ``parse_command(buf, ...) -> (command, used)``; its
  docstring holds the parser's notes (what is supported, limits,
  leniencies). :mod:`.commands` are the typed commands it returns;
  :mod:`.grammar`, :mod:`.message_commands`, :mod:`.ext_commands`, :mod:`.fetch`, :mod:`.search`,
  :mod:`.sequence` and ``mailboxes.mutf7`` its parts; :mod:`.errors` what it raises.
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

What the server supports, how each extension behaves and where it
deviates from the RFCs, with the code that does it: docs/IMAP.md.
"""
