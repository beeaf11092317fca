"""POP2 server (RFC 937), the legacy protocol on port 109, on the shared store.

Implementation notes
- Modules: parser (pure), session (the state table, POP2's replies),
  server. Line I/O, the idle timeout and the command loop are the line
  protocols' (protocols.lines); the maildrop lease is POP3's
  (protocols.pop3.lease).
- States as RFC 937: AUTH (after the greeting), MBOX (a folder selected),
  ITEM (READ named a message), NEXT (RETR sent it, an ACK is due), and DONE.
  Replies: "+" (ok), "-" (error), "#n" (messages in the folder, after HELO
  and FOLD), "=n" (octets of the message READ names; =0 when there is none).
- HELO logs in and selects INBOX; FOLD selects any of the account's folders.
  RETR sends exactly the n octets READ announced: the message with CRLF line
  ends and a final CRLF, no terminator and no stuffing. ACKS keeps the
  message, ACKD marks it for deletion, both advance to the next message and
  answer its size; NACK stays on the message.
- Deletions (ACKD) take effect when the folder is left (FOLD) or at QUIT,
  as UW ipop2d does; a dropped connection deletes nothing. Retrieved and
  acknowledged messages are marked \\Seen then too.
- A session holds the account's maildrop lock, the same lease as POP3, so
  POP2 and POP3 never work on one maildrop at once ("- [IN-USE] ...").
- A logged-in session counts toward MAIL_MAX_SESSIONS_PER_ACCOUNT with the
  account's IMAP and POP3 sessions (protocols.account_sessions); a HELO
  past it gets "- [IN-USE] too many sessions for this account, ..." (RFC
  937's "- message"; the code as POP3's RFC 2449 IN-USE), is not counted as
  a failed login, and may be tried again on the same connection.
- POP2 has no TLS: HELO is accepted only where plaintext passwords are
  (loopback, or MAIL_ALLOW_PLAINTEXT_AUTH).
- Deviations: a command out of sequence or malformed gets "-" and the state
  is kept (ipop2d hangs up); READ of a message that does not exist answers
  "=0" rather than hanging up.
"""
