"""Spam filtering with rspamd (docs/SPAM.md): what every door shares.

- verdict.py: rspamd's answer, what each action means to us, and the
  X-Spam-* header fields (pure: no I/O);
- client.py: the HTTP protocol (checkv2 on the normal worker; learnspam,
  learnham and stat on the controller), blocking, with a timeout.

The SMTP side (scan at DATA) is protocols/smtp/spam.py; learning from what
users file as Junk is mailboxes/tasks.py's learn task.
"""
