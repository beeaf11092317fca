"""The front doors for mail clients and other servers (SMTP, IMAP, POP3, POP2),
the outbound relay, and the shared pieces they stand on: the asyncio
listener, TLS, and the bounded thread pool that runs store calls."""
