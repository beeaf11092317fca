"""The outbound relay: delivers the store's outbound queue to other hosts,
run by Celery (protocols/relay/tasks.py), and the inbound mail
authentication checks (authcheck.py) the SMTP server's DATA handler calls.

Implementation notes:
- Routing: smarthost (MAIL_RELAY_SMARTHOST, with AUTH over TLS) if set; else
  MAIL_RELAY_MX_OVERRIDE for tests and staging; else MX records, the domain's
  own A/AAAA when it has no MX (RFC 5321 5.1), and a permanent failure for a
  null MX (RFC 7505) or a domain that does not exist. Equal preferences are
  tried in random order; IPv4 addresses before IPv6.
- One connection per destination per run, shared by every message and
  recipient bound there; PIPELINING (RFC 2920) when offered; SIZE and
  BODY=8BITMIME when offered; the message as one BDAT LAST chunk when the
  host offers CHUNKING (RFC 3030), binary content only so (BINARYMIME, else
  5.6.3); SMTPUTF8 asked for when the message holds UTF-8, a UTF-8 address
  to a host without it a 5.6.7 bounce (RFC 6531 3.7.4); DSN parameters
  (RFC 3461) passed on when offered, else a "relayed" notice for
  NOTIFY=SUCCESS; REQUIRETLS mail (RFC 8689) only over verified TLS to a host
  offering it (else 5.7.10), and "TLS-Required: No" mail past a TLS policy
  it cannot meet (client.py, deliver.py).
- STARTTLS to MX hosts is opportunistic (RFC 7435): used whenever offered,
  the certificate not verified, unless the destination publishes an MTA-STS
  policy (RFC 8461, mtasts.py): in enforce mode only the MX hosts it names,
  over TLS with a certificate valid for the MX host's name, else deferred;
  in testing mode failures are logged and the mail goes as without a
  policy. DANE (RFC 7672, dane.py) comes first: an MX host with TLSA
  records the resolver vouches for (AD bit) gets TLS checked against them,
  and MTA-STS is then not consulted. Every TLS negotiation is counted for
  the daily RFC 8460 reports (tlsrpt.py). The smarthost's certificate and
  host name are verified (system CAs or MAIL_RELAY_SMARTHOST_CA) before
  AUTH: a failure defers the mail.
- Queue state lives in the store (mailboxes/store/outbound.py): a claimed
  recipient is leased to one worker (SELECT ... FOR UPDATE SKIP LOCKED); 4xx
  and connection failures back off 5 min, 15 min, 1 h, 4 h, then every 8 h
  until MAIL_RELAY_LIFETIME (5 days); 5xx and expiry fail the recipient and
  send one RFC 3464 DSN to the envelope sender (none for a null sender).
  A recipient still deferred once its message has waited
  MAIL_RELAY_DELAY_WARNING (4 h; 0 = never) gets one "delayed" DSN, once
  (store.record_outcome). Notices go only where NOTIFY asks (docs/SMTP.md).
- Outbound mail is DKIM-signed (relaxed/relaxed) only as the domain the
  store recorded when it was queued (store.signing_domain: the From: domain
  when its submitter may use it), with that domain's active key; mail we
  forward is not signed (docs/SMTP.md, "Who may send as whom").
"""
