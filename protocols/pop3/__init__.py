"""POP3 server (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595), AUTH PLAIN
(RFC 5034/4616) and POP3S, on the shared store.

Implementation notes
- Modules: parser (pure: bytes -> typed commands), wire (pure: stuffing,
  TOP), session (the state table, POP3's replies), auth (AUTHORIZATION),
  maildrop (TRANSACTION, UPDATE), lease (holding the lock), logins (the
  throttle), server. The bounded line reader and the command loop are
  protocols/lines.py, shared with POP2 and ManageSieve.
- The maildrop is the account's INBOX, snapshotted at login under an
  exclusive lock (RFC 1939 8) that every worker process sees: a lease in the
  database, renewed every third of MAIL_POP_LOCK_LEASE while the session
  lives, released at QUIT or disconnect; a dead worker's lease lapses. A
  second login gets -ERR [IN-USE] (RFC 2449 8.1.1) and may try again.
- DELE only marks. QUIT in TRANSACTION runs UPDATE: one store transaction
  deletes the marked messages (IMAP sessions see EXPUNGE), marks retrieved
  ones \\Seen and releases the lock. A dropped connection, an idle timeout
  (MAIL_POP_IDLE_TIMEOUT, 600 s as RFC 1939 3 asks, closed without a reply)
  or a server shutdown deletes nothing.
- Sizes in LIST/STAT/RETR are octets of the message with CRLF line ends and
  a final CRLF, before dot-stuffing (RFC 1939 11), exactly what the client
  holds once it removes the stuffing. UIDL is "<uidvalidity>.<uid>": unique
  and stable for the life of the message, the same in every worker.
- Read-ahead: RETR/TOP of the message after the one last read fetch it and
  the next ones in one store call (16 messages, 256 KB at most), since
  collecting clients read in order; message bytes are immutable.
- Passwords (USER/PASS, AUTH PLAIN) only under TLS, from loopback or with
  MAIL_ALLOW_PLAINTEXT_AUTH; CAPA lists USER and SASL PLAIN only then.
  APOP (RFC 1939 7) works anywhere, for accounts given an APOP secret
  (`manage.py setapop`); the greeting carries the timestamp.
- Response codes: [AUTH] (RFC 3206), [IN-USE], [SYS/TEMP], [SYS/PERM]
  (RFC 2449 8); store.Unavailable becomes [SYS/TEMP]; any other failure a
  generic [SYS/PERM] reply and a log line with the connection id.
- Limits: 1024-octet command lines (RFC 2449 says 255; we are lenient),
  20 bad commands, 3 failed logins per connection, and the store's shared
  failed-login throttle (logins.py; also records the last login per protocol);
  MAIL_MAX_SESSIONS_PER_ACCOUNT sessions per account with IMAP's ([IN-USE]).
- Deviations: AUTH without arguments lists the mechanisms (not in RFC 5034,
  widely used); a bare LF ends a command; no LOGIN-DELAY or EXPIRE.
"""
