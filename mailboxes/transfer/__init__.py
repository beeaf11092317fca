"""Moving mail in and out of Mailhost: import from Maildir, mbox and IMAP,
export to Maildir and mbox, a zip download for webmail, IMAP import jobs.

Implementation notes
- One engine (importer.py) for every source; sources (maildir.py, mbox.py,
  imapsource.py) only read and hand over `source.Item`s. Writes go through
  the store (store.append_many: one transaction per batch) and nowhere else.
- Idempotent and resumable by Message-ID plus size (names.key_of), counted
  per target folder, so running an import again copies only what is missing.
- Special-use folders map onto ours (names.target_folder): RFC 6154
  attributes from IMAP, well-known names otherwise (`Sent Items` -> Sent).
- Local files with Unix line ends become CRLF on import (IMAP and RFC 5322
  line ends); export writes the stored bytes unchanged. An mbox cannot tell
  a message without a final line break from one with it: such a message
  gains an LF on an mbox round trip (Maildir keeps it exactly).
- Deviations: Maildir keeps at most 26 keywords per folder (Dovecot's a-z);
  an import of the same source running twice at the same time can duplicate.
"""
