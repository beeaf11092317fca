"""SMTP: the MX (25), submission (587) and SMTPS (465), on aiosmtpd.

Implementation notes
- aiosmtpd (pinned) keeps the SMTP state machine: command parsing, HELO and
  EHLO, MAIL/RCPT/DATA with dot-unstuffing (RFC 5321 4.5.2), STARTTLS
  (RFC 3207, pipelined plaintext discarded), AUTH PLAIN and LOGIN exchanges
  (RFC 4954, 4616), the line and size limits and the bogus-command budget.
  session.SMTPSession subclasses it only where our rules differ, reaching
  aiosmtpd's private members only through aiosmtpd_adapter.py; handlers.py
  holds the hooks that call the store; policy.py the per-listener table and
  the pure decisions; replies.py every reply text; trace.py the trace fields.
- Supported: PIPELINING, 8BITMIME, SMTPUTF8, SIZE, CHUNKING (BDAT) and
  BINARYMIME (RFC 3030: session.smtp_BDAT reads each chunk through the
  adapter; size checked before a chunk is read, a refused one drained), ENHANCEDSTATUSCODES
  (added to every aiosmtpd reply, RFC 2034), STARTTLS, AUTH PLAIN LOGIN,
  HELP (214), VRFY (always 252: no account disclosure), NOOP, RSET, QUIT.
  DSN (RFC 3461, dsn.py: NOTIFY, ORCPT, RET, ENVID taken off before
  aiosmtpd sees them, kept in the store's queue; docs/SMTP.md).
  REQUIRETLS (RFC 8689) on MAIL, offered and taken under TLS only.
  Not supported: EXPN (502).
- SMTPUTF8 (RFC 6531): a UTF-8 address at MAIL or RCPT only when MAIL
  said SMTPUTF8 (553 5.6.7); the message is stored as received.
- MX: RCPT only for local accounts, aliases and catch-alls (550 5.1.1 unknown,
  550 5.2.1 disabled); anything else 554 5.7.1, there is no AUTH on port 25.
  Submission and SMTPS: AUTH before MAIL (530 5.7.0), MAIL FROM only an
  address store.may_send_as allows (own, alias, admin grant), or <> (553
  5.7.1 otherwise); every From:/Sender: address likewise, whatever MAIL FROM
  was (550 5.7.1 at the end of DATA); remote recipients go on the store's
  outbound queue.
- AUTH is offered and accepted only over TLS, from loopback, or with
  MAIL_ALLOW_PLAINTEXT_AUTH (protocols.listener.Connection's rule). Three
  AUTH commands per connection, then 421 4.7.0.
- Quota: checked at RCPT for the SIZE= the client declared (at least one
  octet, so a full mailbox is refused there: 452 4.2.2, or 552 5.2.2 when
  the message can never fit) and again by the store at DATA. Deviation: one
  DATA is one transaction for all recipients, so if one recipient's mailbox
  fills between RCPT and DATA, the whole message gets 452/552 and no copy is
  stored (the client retries; nothing is lost or duplicated).
- Durability: 250 after DATA only when store.deliver_final has returned, that
  is when the transaction storing every copy has committed. Store errors:
  Unavailable 451 4.3.0; unexpected exceptions 451 4.3.0 and a log line with
  the connection label, never their text.
- Trace fields (RFC 5321 4.4): Received on every message (HELO name when it
  is a domain or address literal, the peer's address literal, WITH per
  RFC 3848/6531, FOR only with one recipient), Return-Path on local copies
  only. Otherwise the bytes are stored exactly as received after
  dot-unstuffing.
- Loops: more than 50 Received: fields in the header is 554 5.4.6 at the end
  of DATA (RFC 5321 6.3), on every listener.
- SMTP smuggling: only CRLF.CRLF ends DATA (aiosmtpd 1.4.5+), and a message
  with any bare CR or LF is refused with 554 5.6.0 (RFC 5321 2.3.8), so no
  such sequence is ever stored or relayed. Command lines may end in a bare LF
  (telnet-friendly, as aiosmtpd reads them).
- Limits (settings): MAIL_MAX_MESSAGE_SIZE (SIZE, 552 5.3.4), MAIL_MAX_RECIPIENTS
  (452 4.5.3), MAIL_SMTP_MAX_LINE_LENGTH (500 5.5.6 in DATA; commands 512,
  RFC 5321 4.5.3.1.4), MAIL_SMTP_IDLE_TIMEOUT (no byte for that long: 421
  4.4.2), MAIL_SMTP_COMMAND_LIMIT (uses of one command per connection: 421).
- Postmaster: RCPT TO:<Postmaster> without a domain (RFC 5321 4.5.1, any
  case) and postmaster@ any domain of ours with no account or alias of that
  name (RFC 2142) go to MAIL_POSTMASTER, else the first active superuser.
- Deviations: the PLAIN authorization identity is ignored
  (aiosmtpd), so one cannot authenticate as one user and act as another.
"""
