"""The webmail: read, search, write and organise mail in the browser, at /mail/.

Implementation notes
- Server-rendered Django pages plus one small plain script (static/mail/mail.js:
  live list, keyboard shortcuts j/k/o/r/a/f/#/u/c//, address suggestions,
  select all). Everything works without it except live updates and shortcuts.
- Reads and writes only through mailboxes.store, with the signed-in account's
  id: a folder, message or part of anybody else is 404, like one that does not
  exist. Parts are located with the structure stored at delivery
  (mime.part_at) and read alone from the database (store.message_bytes).
- Security: a strict Content-Security-Policy on every page (our own script and
  style only, nothing remote); HTML mail sanitised with nh3 and shown in a
  sandboxed iframe without allow-scripts, with its own CSP that blocks remote
  content until the user allows images for that message; parts are served as
  downloads with nosniff; CSRF on every POST; logins throttled by the store.
- New mail: the list polls /f/<id>/state (the folder's HIGHESTMODSEQ) every
  few seconds and reloads its rows when it moved (DESIGN.md, change
  notification; polling rather than a long-lived connection keeps gunicorn's
  sync workers free).
- Deviation: compose writes plain text only (replies quote the HTML's text).
"""
