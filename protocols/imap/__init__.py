"""IMAP4rev1 server.

The pure half (no I/O, no Django) is the parser and the encoder:

* :mod:`.parser`: ``parse_command(buf, ...) -> (command, used)``; its
  docstring holds the implementation notes (what is supported, limits,
  leniencies).
* :mod:`.commands`: the typed command dataclasses it returns.
* :mod:`.grammar`: framing and the token reader; :mod:`.message_commands`,
  :mod:`.fetch` and :mod:`.search` parse the selected-state commands, FETCH
  items and SEARCH keys.
* :mod:`.sequence`, :mod:`.utf7`: sequence sets and modified UTF-7 names.
* :mod:`.errors`: everything the parser raises instead of returning.
* :mod:`.encoder`: response bytes, including ENVELOPE and BODYSTRUCTURE
  from the dicts stored at delivery.
"""
