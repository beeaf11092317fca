"""ManageSieve server (RFC 5804): clients upload, check and activate the
account's Sieve scripts (mailboxes/sieve, stored by mailboxes/store/sieve_scripts.py).

Implementation notes
- Modules: parser (pure: bytes -> typed commands, and the response
  encoder), session (reading commands with their literals, the state table,
  store errors mapped to response codes once), auth (CAPABILITY, NOOP,
  LOGOUT, STARTTLS, AUTHENTICATE, UNAUTHENTICATE), scripts (HAVESPACE,
  PUTSCRIPT, CHECKSCRIPT, LISTSCRIPTS, SETACTIVE, GETSCRIPT, DELETESCRIPT,
  RENAMESCRIPT), server. Line I/O and the command loop are the line protocols'
  (protocols/lines.py), logins the POP doors' (protocols/pop3/logins.py).
- SASL PLAIN only, through store.login (the shared throttle); only under
  TLS, from loopback or with MAIL_ALLOW_PLAINTEXT_AUTH, else NO
  (ENCRYPT-NEEDED) and the SASL capability is empty. Three failed logins
  on one connection end it with BYE.
- PUTSCRIPT and CHECKSCRIPT answer a script that is not valid Sieve with
  NO "line N: reason" (2.6); quotas give NO (QUOTA/MAXSCRIPTS) or
  (QUOTA/MAXSIZE) (1.3). A literal larger than MAIL_SIEVE_MAX_SCRIPT_SIZE
  (8 KiB before login) is read and dropped, never held, and answered NO
  (QUOTA/MAXSIZE); one larger than MAIL_MAX_MESSAGE_SIZE ends the session.
- Limits: 8 KiB command lines, 20 bad commands, MAIL_MANAGESIEVE_IDLE_TIMEOUT
  idle seconds, and the listener's connection limits.
- Deviations: a synchronizing literal {n} is read like {n+} (ManageSieve
  has no continuation response for it); a bare LF ends a line; no
  SASL mechanisms but PLAIN, no REFERRAL, no SASL security layers.
"""
