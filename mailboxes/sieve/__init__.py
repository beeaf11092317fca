"""Sieve (RFC 5228) for Mailhost: parse, check and evaluate mail filters.

Pure: no I/O, no Django. `compile_script` turns text into a checked
`Script` or raises `SieveError` with the line; `evaluate` runs a script
against one message and its delivery and returns the actions, which the
store carries out (mailboxes/store/sieve_delivery.py). Docs: docs/SIEVE.md.

Implementation notes:
- Our own tokenizer and parser, not sievelib's: sievelib 1.6.0 refuses
  valid scripts using duplicate, spamtest, mailboxexists, ereject, date's
  :index, envelope's :detail and the i;ascii-numeric comparator, and
  accepts `require` of extensions nobody implements (RFC 5228 3.2 says
  refuse).
- Extensions: fileinto, reject, ereject, envelope, encoded-character,
  imap4flags, body, variables, vacation, vacation-seconds, relational,
  subaddress ("+" separates the detail), date, index, duplicate, copy,
  mailbox, spamtest, spamtestplus, comparator-i;ascii-numeric.
- Not supported: :regex, the MIME loops (RFC 5703), environment, enotify,
  include; `require` of them is refused at upload.
- Runtime errors (too many actions or redirects, reject beside other
  actions, a bad redirect address) raise SieveRuntimeError; the store then
  keeps the message in INBOX (RFC 5228 2.10.6).
"""

from .actions import Action, Discard, DuplicateMark, FileInto, Keep, Outcome, Redirect, Reject, Vacation
from .checks import EXTENSIONS, MAX_SCRIPT_BYTES, Script, compile_script
from .errors import SieveError, SieveRuntimeError
from .interpreter import evaluate
from .message import Delivery, Envelope, Limits, SieveMessage, from_bytes

__all__ = [
    "Action",
    "Delivery",
    "Discard",
    "DuplicateMark",
    "EXTENSIONS",
    "Envelope",
    "FileInto",
    "Keep",
    "Limits",
    "MAX_SCRIPT_BYTES",
    "Outcome",
    "Redirect",
    "Reject",
    "Script",
    "SieveError",
    "SieveMessage",
    "SieveRuntimeError",
    "Vacation",
    "compile_script",
    "evaluate",
    "from_bytes",
]
