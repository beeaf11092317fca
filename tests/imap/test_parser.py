"""IMAP command parser: table-driven, each case also fed split at every byte."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.imap import commands as c
from protocols.imap import search as s
from protocols.imap.fetch import FetchAttribute as FA
from protocols.imap.fetch import Section
from protocols.imap.grammar import DEFAULT_MAX_LINE, Framer
from protocols.imap.parser import (
    BadCharset,
    Incomplete,
    LineTooLong,
    LiteralTooBig,
    NeedContinuation,
    NeedMore,
    ParseError,
    ParseSignal,
    decode_sasl_response,
    is_idle_done,
    parse_command,
)
from protocols.imap.sequence import SAVED, STAR, SeqNumber, SequenceSet

from .helpers import MAX_LITERAL, parse_split_everywhere

T = b"a1"


def seqs(*ranges: tuple[SeqNumber, SeqNumber] | SeqNumber) -> SequenceSet:
    return SequenceSet(tuple(r if isinstance(r, tuple) else (r, r) for r in ranges))


ALL_SEQ = seqs((1, STAR))
PDT = dt.timezone(dt.timedelta(hours=-7))

VALID: list[tuple[bytes, c.Command]] = [
    (b"a1 NOTIFY NONE\r\n", c.Notify(tag=T)),
    (
        b"a1 NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge)) (subtree (a b) NONE)"
        b" (mailboxes INBOX (FlagChange))\r\n",
        c.Notify(
            tag=T,
            status=True,
            groups=(
                c.NotifyGroup(
                    filter="SELECTED",
                    events=frozenset({"MESSAGENEW", "MESSAGEEXPUNGE"}),
                    fetch=(FA("UID"), FA("FLAGS")),
                ),
                c.NotifyGroup(filter="SUBTREE", mailboxes=("a", "b")),
                c.NotifyGroup(filter="MAILBOXES", mailboxes=("INBOX",), events=frozenset({"FLAGCHANGE"})),
            ),
        ),
    ),
    (
        b'a1 URLFETCH "imap://a/INBOX/;UID=1" ("imap://a/INBOX/;UID=2" binary BODYPARTSTRUCTURE) ("u" BODY)\r\n',
        c.UrlFetch(
            tag=T,
            urls=("imap://a/INBOX/;UID=1", "imap://a/INBOX/;UID=2", "u"),
            options=(None, frozenset({"BINARY", "BODYPARTSTRUCTURE"}), frozenset({"BODY"})),
        ),
    ),
    # -- any state ---------------------------------------------------------
    (b"a1 CAPABILITY\r\n", c.Capability(tag=T)),
    (b"a1 capability\r\n", c.Capability(tag=T)),
    (b"a1 NOOP\n", c.Noop(tag=T)),
    (b"A001.x] LOGOUT\r\n", c.Logout(tag=b"A001.x]")),
    (b"a1 ID NIL\r\n", c.Id(tag=T, params=None)),
    (
        b'a1 ID ("name" "sodr" "version" NIL "os" {5}\r\nLinux)\r\n',
        c.Id(tag=T, params=(("name", "sodr"), ("version", None), ("os", "Linux"))),
    ),
    (b"a1 ID ()\r\n", c.Id(tag=T, params=())),
    (b"a1 ENABLE CONDSTORE qresync\r\n", c.Enable(tag=T, capabilities=("CONDSTORE", "QRESYNC"))),
    (b"a1 ENABLE imap4rev2\r\n", c.Enable(tag=T, capabilities=("IMAP4REV2",))),
    # -- not authenticated -------------------------------------------------
    (b"a1 STARTTLS\r\n", c.StartTLS(tag=T)),
    (b"a1 AUTHENTICATE plain\r\n", c.Authenticate(tag=T, mechanism="PLAIN")),
    (
        b"a1 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n",
        c.Authenticate(tag=T, mechanism="PLAIN", initial_response=b"\0alice\0s3cret"),
    ),
    (b"a1 AUTHENTICATE EXTERNAL =\r\n", c.Authenticate(tag=T, mechanism="EXTERNAL", initial_response=b"")),
    (b"a1 LOGIN alice s3cret\r\n", c.Login(tag=T, username="alice", password="s3cret")),
    (
        b'a1 LOGIN "alice@example.test" "p a\\"s\\\\s"\r\n',
        c.Login(tag=T, username="alice@example.test", password='p a"s\\s'),
    ),
    (b"a1 LOGIN {5}\r\nalice {6+}\r\ns3cr\xc3\xa9\r\n", c.Login(tag=T, username="alice", password="s3cr\xe9")),
    (b"a1 LOGIN alice {0}\r\n\r\n", c.Login(tag=T, username="alice", password="")),
    # -- authenticated -----------------------------------------------------
    (b"a1 SELECT inbox\r\n", c.Select(tag=T, mailbox="INBOX")),
    (b"a1 EXAMINE Archive/2024\r\n", c.Select(tag=T, mailbox="Archive/2024", readonly=True)),
    (b'a1 SELECT "Entw&APw-rfe"\r\n', c.Select(tag=T, mailbox="Entw\xfcrfe")),
    (b"a1 SELECT INBOX (CONDSTORE)\r\n", c.Select(tag=T, mailbox="INBOX", condstore=True)),
    (
        b"a1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        c.Select(
            tag=T,
            mailbox="INBOX",
            qresync=c.QResync(67890007, 20050715194045000, seqs(41, (43, 211), (214, 541))),
        ),
    ),
    (
        b"a1 EXAMINE INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
        b"15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n",
        c.Select(
            tag=T,
            mailbox="INBOX",
            readonly=True,
            qresync=c.QResync(
                67890007,
                90060115194045000,
                seqs((1, 29997)),
                (
                    seqs(5000, 7500, 9000, (9990, 9999)),
                    seqs(15000, 22500, 27000, *range(29970, 29998, 3)),
                ),
            ),
        ),
    ),
    (b"a1 SELECT INBOX (QRESYNC (1 2))\r\n", c.Select(tag=T, mailbox="INBOX", qresync=c.QResync(1, 2))),
    # seq-match-data without known-uids; QRESYNC beside CONDSTORE; keywords in any case.
    (
        b"a1 select inbox (qresync (7 9 (1:3 4,8:9)) condstore)\r\n",
        c.Select(
            tag=T, mailbox="INBOX", condstore=True, qresync=c.QResync(7, 9, None, (seqs((1, 3)), seqs(4, (8, 9))))
        ),
    ),
    (
        b"a1 EXAMINE Sent (CONDSTORE QRESYNC (4294967295 9223372036854775807 5,3:1))\r\n",
        c.Select(
            tag=T,
            mailbox="Sent",
            readonly=True,
            condstore=True,
            qresync=c.QResync(4294967295, 9223372036854775807, seqs(5, (3, 1))),
        ),
    ),
    (b"a1 CREATE Drafts\r\n", c.Create(tag=T, mailbox="Drafts")),
    (b"a1 CREATE MySent (USE (\\sent))\r\n", c.Create(tag=T, mailbox="MySent", special_use=("\\Sent",))),
    (b"a1 DELETE &-Co\r\n", c.Delete(tag=T, mailbox="&Co")),
    (b"a1 RENAME a b\r\n", c.Rename(tag=T, mailbox="a", new_name="b")),
    (
        b"a1 SUBSCRIBE ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n",
        c.Subscribe(tag=T, mailbox="~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e"),
    ),
    (b"a1 UNSUBSCRIBE {4+}\r\nNews\r\n", c.Unsubscribe(tag=T, mailbox="News")),
    (b'a1 LIST "" *\r\n', c.List(tag=T, reference="", patterns=("*",))),
    (b'a1 LIST "" ""\r\n', c.List(tag=T, reference="", patterns=("",))),
    (b"a1 LIST ~/Mail/ %]\r\n", c.List(tag=T, reference="~/Mail/", patterns=("%]",))),
    (
        b'a1 LIST (SUBSCRIBED RECURSIVEMATCH) "" (INBOX% "Entw&APw-rfe/*")\r\n',
        c.List(
            tag=T,
            reference="",
            patterns=("INBOX%", "Entw\xfcrfe/*"),
            selection=frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}),
            extended=True,
        ),
    ),
    (
        b'a1 LIST "" % RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n',
        c.List(
            tag=T,
            reference="",
            patterns=("%",),
            returns=c.ListReturn(children=True, special_use=True, status=("MESSAGES", "UNSEEN")),
            extended=True,
        ),
    ),
    (
        b'a1 list () "" % return ()\r\n',
        c.List(tag=T, reference="", patterns=("%",), extended=True),
    ),
    (b'a1 LSUB "#news." "comp.mail.*"\r\n', c.Lsub(tag=T, reference="#news.", pattern="comp.mail.*")),
    (
        b"a1 STATUS blurdybloop (UIDNEXT messages highestmodseq)\r\n",
        c.Status(tag=T, mailbox="blurdybloop", items=("UIDNEXT", "MESSAGES", "HIGHESTMODSEQ")),
    ),
    (
        b"a1 APPEND saved-messages (\\Seen) {23}\r\nDate: Mon, 7 Feb 1994\r\n\r\n",
        c.Append(tag=T, mailbox="saved-messages", flags=("\\Seen",), message=b"Date: Mon, 7 Feb 1994\r\n"),
    ),
    (
        b'a1 APPEND INBOX (\\seen \\DRAFT $Forwarded) " 7-Jul-1996 02:44:25 -0700" {3+}\r\nhi!\r\n',
        c.Append(
            tag=T,
            mailbox="INBOX",
            flags=("\\Seen", "\\Draft", "$Forwarded"),
            internal_date=dt.datetime(1996, 7, 7, 2, 44, 25, tzinfo=PDT),
            message=b"hi!",
        ),
    ),
    (
        b'a1 APPEND Sent "17-Jul-1996 02:44:25 +0000" {0}\r\n\r\n',
        c.Append(tag=T, mailbox="Sent", internal_date=dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=dt.UTC), message=b""),
    ),
    (b"a1 APPEND Sent () {1}\r\n\0\r\n", c.Append(tag=T, mailbox="Sent", message=b"\0")),
    # RFC 3502 MULTIAPPEND: each further message with its own flags and date.
    (
        b'a1 APPEND Sent (\\Seen) {1}\r\na "17-Jul-1996 02:44:25 +0000" {1+}\r\nb {0}\r\n\r\n',
        c.Append(
            tag=T,
            mailbox="Sent",
            flags=("\\Seen",),
            message=b"a",
            more=(
                c.AppendMessage(internal_date=dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=dt.UTC), message=b"b"),
                c.AppendMessage(message=b""),
            ),
        ),
    ),
    # RFC 3516 4.4 / RFC 4466: APPEND takes a literal8, synchronizing or not; NUL allowed.
    (b"a1 APPEND Sent ~{3}\r\na\0b\r\n", c.Append(tag=T, mailbox="Sent", message=b"a\0b")),
    (
        b'a1 APPEND Sent (\\Seen) "17-Jul-1996 02:44:25 +0000" ~{4+}\r\n\0\r\n\xff\r\n',
        c.Append(
            tag=T,
            mailbox="Sent",
            flags=("\\Seen",),
            internal_date=dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=dt.UTC),
            message=b"\0\r\n\xff",
        ),
    ),
    (b"a1 append Sent ~{0}\r\n\r\n", c.Append(tag=T, mailbox="Sent", message=b"")),
    (b"a1 NAMESPACE\r\n", c.Namespace(tag=T)),
    (b"a1 IDLE\r\n", c.Idle(tag=T)),
    (b'a1 GETQUOTA ""\r\n', c.GetQuota(tag=T, root="")),
    (b"a1 GETQUOTAROOT INBOX\r\n", c.GetQuotaRoot(tag=T, mailbox="INBOX")),
    (
        b'a1 SETQUOTA "" (STORAGE 512 message 1000)\r\n',
        c.SetQuota(tag=T, root="", limits=(("STORAGE", 512), ("MESSAGE", 1000))),
    ),
    # -- selected ----------------------------------------------------------
    (b"a1 CHECK\r\n", c.Check(tag=T)),
    (b"a1 CLOSE\r\n", c.Close(tag=T)),
    (b"a1 UNSELECT\r\n", c.Unselect(tag=T)),
    (b"a1 EXPUNGE\r\n", c.Expunge(tag=T)),
    (b"a1 UID EXPUNGE 3000:3002\r\n", c.Expunge(tag=T, uids=seqs((3000, 3002)))),
    (b"a1 SEARCH ALL\r\n", c.Search(tag=T, criteria=s.All())),
    (
        b"a1 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        c.Search(
            tag=T,
            criteria=s.And(
                (s.Flag("\\Flagged"), s.Date("since", dt.date(1994, 2, 1)), s.Not(s.Header("from", "Smith")))
            ),
        ),
    ),
    (
        b"a1 UID SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n",
        c.Search(tag=T, uid=True, charset="UTF-8", criteria=s.Text("XXXXXX")),
    ),
    (
        b"a1 SEARCH CHARSET utf-8 SUBJECT {9}\r\nEntw\xc3\xbcrfe\r\n",
        c.Search(tag=T, charset="UTF-8", criteria=s.Header("subject", "Entw\xfcrfe")),
    ),
    (
        b"a1 SEARCH RETURN (MIN COUNT) OR (DELETED SEEN) (UID 1:5 SMALLER 100)\r\n",
        c.Search(
            tag=T,
            returns=frozenset({"MIN", "COUNT"}),
            criteria=s.Or(
                s.And((s.Flag("\\Deleted"), s.Flag("\\Seen"))),
                s.And((s.Sequence(seqs((1, 5)), uid=True), s.Size("smaller", 100))),
            ),
        ),
    ),
    (
        b"a1 UID SEARCH RETURN () CHARSET US-ASCII 2:4,*:7 LARGER 0\r\n",
        c.Search(
            tag=T,
            uid=True,
            returns=frozenset({"ALL"}),
            charset="US-ASCII",
            criteria=s.And((s.Sequence(seqs((2, 4), (STAR, 7))), s.Size("larger", 0))),
        ),
    ),
    (
        b"a1 SEARCH NEW OLD RECENT UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN ANSWERED DRAFT\r\n",
        c.Search(
            tag=T,
            criteria=s.And(
                (
                    s.And((s.Flag("\\Recent"), s.Flag("\\Seen", False))),
                    s.Flag("\\Recent", False),
                    s.Flag("\\Recent"),
                    s.Flag("\\Answered", False),
                    s.Flag("\\Deleted", False),
                    s.Flag("\\Draft", False),
                    s.Flag("\\Flagged", False),
                    s.Flag("\\Seen", False),
                    s.Flag("\\Answered"),
                    s.Flag("\\Draft"),
                )
            ),
        ),
    ),
    (
        b'a1 SEARCH KEYWORD $Junk UNKEYWORD $Forwarded HEADER Message-ID "<x@y>" BCC a CC b TO c BODY d\r\n',
        c.Search(
            tag=T,
            criteria=s.And(
                (
                    s.Flag("$Junk"),
                    s.Flag("$Forwarded", False),
                    s.Header("message-id", "<x@y>"),
                    s.Header("bcc", "a"),
                    s.Header("cc", "b"),
                    s.Header("to", "c"),
                    s.Body("d"),
                )
            ),
        ),
    ),
    (
        b'a1 SEARCH BEFORE "1-Feb-1994" ON 31-Dec-2023 SENTBEFORE 1-jan-2000 SENTON 29-Feb-2024 SENTSINCE 01-Mar-2024\r\n',
        c.Search(
            tag=T,
            criteria=s.And(
                (
                    s.Date("before", dt.date(1994, 2, 1)),
                    s.Date("on", dt.date(2023, 12, 31)),
                    s.Date("before", dt.date(2000, 1, 1), sent=True),
                    s.Date("on", dt.date(2024, 2, 29), sent=True),
                    s.Date("since", dt.date(2024, 3, 1), sent=True),
                )
            ),
        ),
    ),
    (
        b'a1 SEARCH MODSEQ "/flags/\\\\draft" all 620162338\r\n',
        c.Search(tag=T, criteria=s.ModSeq(620162338, "\\draft", "all")),
    ),
    (b"a1 SEARCH MODSEQ 5 NOT NOT ALL\r\n", c.Search(tag=T, criteria=s.And((s.ModSeq(5), s.Not(s.Not(s.All())))))),
    (
        b"a1 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n",
        c.Sort(tag=T, keys=(c.SortKey("SUBJECT"), c.SortKey("DATE", True)), charset="UTF-8", criteria=s.All()),
    ),
    (
        b"a1 UID SORT (reverse arrival cc from size to displayfrom) US-ASCII UNDELETED SINCE 1-Feb-1994\r\n",
        c.Sort(
            tag=T,
            uid=True,
            keys=(
                c.SortKey("ARRIVAL", True),
                c.SortKey("CC"),
                c.SortKey("FROM"),
                c.SortKey("SIZE"),
                c.SortKey("TO"),
                c.SortKey("DISPLAYFROM"),
            ),
            charset="US-ASCII",
            criteria=s.And((s.Flag("\\Deleted", False), s.Date("since", dt.date(1994, 2, 1)))),
        ),
    ),
    (
        b"a1 SORT RETURN (MIN COUNT) (ARRIVAL) UTF-8 ALL\r\n",
        c.Sort(
            tag=T, keys=(c.SortKey("ARRIVAL"),), charset="UTF-8", criteria=s.All(), returns=frozenset({"MIN", "COUNT"})
        ),
    ),
    (
        b"a1 UID SORT RETURN () (SIZE) US-ASCII ALL\r\n",
        c.Sort(
            tag=T, uid=True, keys=(c.SortKey("SIZE"),), charset="US-ASCII", criteria=s.All(), returns=frozenset({"ALL"})
        ),
    ),
    (
        b"a1 SEARCH RETURN (UPDATE PARTIAL 9:3) ALL\r\n",
        c.Search(tag=T, criteria=s.All(), returns=frozenset({"UPDATE", "PARTIAL"}), partial=(3, 9)),
    ),
    (
        b"a1 SORT RETURN (partial 1:2 count) (SIZE) UTF-8 ALL\r\n",
        c.Sort(
            tag=T,
            keys=(c.SortKey("SIZE"),),
            charset="UTF-8",
            criteria=s.All(),
            returns=frozenset({"PARTIAL", "COUNT"}),
            partial=(1, 2),
        ),
    ),
    (b'a1 CANCELUPDATE "t1" {2+}\r\nt2\r\n', c.CancelUpdate(tag=T, tags=(b"t1", b"t2"))),
    (b"a1 THREAD REFERENCES UTF-8 ALL\r\n", c.Thread(tag=T, algorithm="REFERENCES", charset="UTF-8", criteria=s.All())),
    (
        b"a1 UID thread orderedsubject us-ascii SEEN\r\n",
        c.Thread(tag=T, uid=True, algorithm="ORDEREDSUBJECT", charset="US-ASCII", criteria=s.Flag("\\Seen", True)),
    ),
    (
        b"a1 FETCH 1:* ALL\r\n",
        c.Fetch(
            tag=T, sequence_set=ALL_SEQ, attributes=(FA("FLAGS"), FA("INTERNALDATE"), FA("RFC822.SIZE"), FA("ENVELOPE"))
        ),
    ),
    (
        b"a1 FETCH 2 fast\r\n",
        c.Fetch(tag=T, sequence_set=seqs(2), attributes=(FA("FLAGS"), FA("INTERNALDATE"), FA("RFC822.SIZE"))),
    ),
    (
        b"a1 FETCH 2,4 FULL\r\n",
        c.Fetch(
            tag=T,
            sequence_set=seqs(2, 4),
            attributes=(FA("FLAGS"), FA("INTERNALDATE"), FA("RFC822.SIZE"), FA("ENVELOPE"), FA("BODY")),
        ),
    ),
    (
        b"a1 FETCH 4:2 (UID RFC822 RFC822.HEADER RFC822.TEXT BODYSTRUCTURE MODSEQ)\r\n",
        c.Fetch(
            tag=T,
            sequence_set=seqs((4, 2)),
            attributes=(
                FA("UID"),
                FA("RFC822"),
                FA("RFC822.HEADER"),
                FA("RFC822.TEXT"),
                FA("BODYSTRUCTURE"),
                FA("MODSEQ"),
            ),
        ),
    ),
    (
        b"a1 FETCH 1 BODY[]\r\n",
        c.Fetch(tag=T, sequence_set=seqs(1), attributes=(FA("BODY", Section()),)),
    ),
    (
        b"a1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.2048> BODY[1.2.3] BODY[1.2.HEADER] body[3.mime] BODY[TEXT]<10.5>)\r\n",
        c.Fetch(
            tag=T,
            sequence_set=seqs(1),
            attributes=(
                FA("BODY", Section((), "HEADER.FIELDS", ("From", "To")), (0, 2048), peek=True),
                FA("BODY", Section((1, 2, 3))),
                FA("BODY", Section((1, 2), "HEADER")),
                FA("BODY", Section((3,), "MIME")),
                FA("BODY", Section((), "TEXT"), (10, 5)),
            ),
        ),
    ),
    # RFC 8474 7: EMAILID/THREADID fetch items, search keys and the MAILBOXID status item.
    (
        b"a1 FETCH 1:* (EMAILID THREADID)\r\n",
        c.Fetch(tag=T, sequence_set=ALL_SEQ, attributes=(FA("EMAILID"), FA("THREADID"))),
    ),
    (
        b"a1 SEARCH OR EMAILID M0a_-Z THREADID T1\r\n",
        c.Search(tag=T, criteria=s.Or(s.ObjectId("EMAILID", "M0a_-Z"), s.ObjectId("THREADID", "T1"))),
    ),
    (
        b"a1 STATUS INBOX (MAILBOXID SIZE)\r\n",
        c.Status(tag=T, mailbox="INBOX", items=("MAILBOXID", "SIZE")),
    ),
    # RFC 4978 4: compress = "COMPRESS" SP algorithm (any atom; the handler refuses others).
    (b"a1 COMPRESS deflate\r\n", c.Compress(tag=T, mechanism="DEFLATE")),
    (b"a1 COMPRESS X-LZW\r\n", c.Compress(tag=T, mechanism="X-LZW")),
    # RFC 8514 5: the SAVEDATE fetch item and search keys.
    (
        b"a1 UID SEARCH SAVEDATESUPPORTED SAVEDBEFORE 1-Feb-2026 SAVEDON 2-Feb-2026 SAVEDSINCE 3-Feb-2026\r\n",
        c.Search(
            tag=T,
            uid=True,
            criteria=s.And(
                (
                    s.Not(s.All()),
                    s.Date("before", dt.date(2026, 2, 1)),
                    s.Date("on", dt.date(2026, 2, 2)),
                    s.Date("since", dt.date(2026, 2, 3)),
                )
            ),
        ),
    ),
    (b"a1 FETCH 1 SAVEDATE\r\n", c.Fetch(tag=T, sequence_set=seqs(1), attributes=(FA("SAVEDATE"),))),
    # RFC 8970 7: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod = "LAZY".
    (
        b"a1 FETCH 1 (PREVIEW PREVIEW (lazy) UID)\r\n",
        c.Fetch(tag=T, sequence_set=seqs(1), attributes=(FA("PREVIEW"), FA("PREVIEW", lazy=True), FA("UID"))),
    ),
    (
        b"a1 UID FETCH 1 PREVIEW (CHANGEDSINCE 3)\r\n",
        c.Fetch(
            tag=T, sequence_set=seqs(1), attributes=(FA("PREVIEW"), FA("UID"), FA("MODSEQ")), uid=True, changedsince=3
        ),
    ),
    (
        b"a1 FETCH 1 (BODY[HEADER.FIELDS.NOT (Received)] BINARY.PEEK[1]<0.100> BINARY[] BINARY.SIZE[2])\r\n",
        c.Fetch(
            tag=T,
            sequence_set=seqs(1),
            attributes=(
                FA("BODY", Section((), "HEADER.FIELDS.NOT", ("Received",))),
                FA("BINARY", Section((1,)), (0, 100), peek=True),
                FA("BINARY", Section()),
                FA("BINARY.SIZE", Section((2,))),
            ),
        ),
    ),
    (
        b"a1 UID FETCH 300:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
        c.Fetch(
            tag=T,
            uid=True,
            sequence_set=seqs((300, STAR)),
            attributes=(FA("FLAGS"), FA("UID"), FA("MODSEQ")),
            changedsince=12345,
            vanished=True,
        ),
    ),
    (
        b"a1 uid fetch 1:5,9 FLAGS (vanished changedsince 3)\r\n",
        c.Fetch(
            tag=T,
            uid=True,
            sequence_set=seqs((1, 5), 9),
            attributes=(FA("FLAGS"), FA("UID"), FA("MODSEQ")),
            changedsince=3,
            vanished=True,
        ),
    ),
    (
        b"a1 UID FETCH 1 (UID FLAGS)\r\n",
        c.Fetch(tag=T, uid=True, sequence_set=seqs(1), attributes=(FA("UID"), FA("FLAGS"))),
    ),
    (
        b"a1 STORE 2:4 +FLAGS (\\Deleted)\r\n",
        c.Store(tag=T, sequence_set=seqs((2, 4)), mode="add", flags=("\\Deleted",)),
    ),
    (
        b"a1 STORE 1 -flags.silent \\SEEN $Label1\r\n",
        c.Store(tag=T, sequence_set=seqs(1), mode="remove", silent=True, flags=("\\Seen", "$Label1")),
    ),
    (
        b"a1 UID STORE 1:* FLAGS ()\r\n",
        c.Store(tag=T, uid=True, sequence_set=ALL_SEQ, mode="replace", flags=()),
    ),
    (
        b"a1 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
        c.Store(
            tag=T, sequence_set=seqs(7, 5, 9), mode="add", silent=True, flags=("\\Deleted",), unchangedsince=320162338
        ),
    ),
    (b"a1 COPY 2:4 MEETING\r\n", c.Copy(tag=T, sequence_set=seqs((2, 4)), mailbox="MEETING")),
    (b"a1 UID COPY 1,3 Trash\r\n", c.Copy(tag=T, uid=True, sequence_set=seqs(1, 3), mailbox="Trash")),
    (b"a1 MOVE * Junk\r\n", c.Move(tag=T, sequence_set=seqs(STAR), mailbox="Junk")),
    (b'a1 uid move 42:69 "foo bar"\r\n', c.Move(tag=T, uid=True, sequence_set=seqs((42, 69)), mailbox="foo bar")),
    # -- SEARCHRES (RFC 5182): SAVE, and "$" wherever a sequence set may be --
    (
        b"a1 SEARCH RETURN (SAVE) UNSEEN\r\n",
        c.Search(tag=T, criteria=s.Flag("\\Seen", False), returns=frozenset({"SAVE"})),
    ),
    (
        b"a1 UID SEARCH RETURN (save MIN) ALL\r\n",
        c.Search(tag=T, uid=True, criteria=s.All(), returns=frozenset({"SAVE", "MIN"})),
    ),
    (b"a1 SEARCH $\r\n", c.Search(tag=T, criteria=s.Sequence(SAVED))),
    (
        b"a1 SEARCH RETURN (SAVE) $ UNSEEN\r\n",
        c.Search(tag=T, criteria=s.And((s.Sequence(SAVED), s.Flag("\\Seen", False))), returns=frozenset({"SAVE"})),
    ),
    (b"a1 UID SEARCH UID $\r\n", c.Search(tag=T, uid=True, criteria=s.Sequence(SAVED, uid=True))),
    (b"a1 SEARCH OR $ 1\r\n", c.Search(tag=T, criteria=s.Or(s.Sequence(SAVED), s.Sequence(seqs(1))))),
    (
        b"a1 FETCH $ (FLAGS)\r\n",
        c.Fetch(tag=T, sequence_set=SAVED, attributes=(FA("FLAGS"),)),
    ),
    (
        b"a1 UID FETCH $ FLAGS\r\n",
        c.Fetch(tag=T, uid=True, sequence_set=SAVED, attributes=(FA("FLAGS"), FA("UID"))),
    ),
    (b"a1 STORE $ +FLAGS (\\Seen)\r\n", c.Store(tag=T, sequence_set=SAVED, mode="add", flags=("\\Seen",))),
    (b"a1 UID COPY $ Trash\r\n", c.Copy(tag=T, uid=True, sequence_set=SAVED, mailbox="Trash")),
    (b"a1 MOVE $ Junk\r\n", c.Move(tag=T, sequence_set=SAVED, mailbox="Junk")),
    (b"a1 UID EXPUNGE $\r\n", c.Expunge(tag=T, uids=SAVED)),
    (
        b"a1 SORT (DATE) UTF-8 $\r\n",
        c.Sort(tag=T, keys=(c.SortKey("DATE"),), charset="UTF-8", criteria=s.Sequence(SAVED)),
    ),
]


@pytest.mark.parametrize(("data", "expected"), VALID, ids=[d[:40].decode("latin-1") for d, _ in VALID])
def test_valid_command_parses_at_every_split(data: bytes, expected: c.Command) -> None:
    command, _ = parse_split_everywhere(data)
    assert command == expected


INVALID: list[tuple[bytes, bytes | None]] = [
    (b"a1 NOTIFY SET\r\n", b"a1"),  # RFC 5465 8: at least one event group
    (b"a1 NOTIFY SET (SUBTREE (MessageNew))\r\n", b"a1"),
    (b"a1 NOTIFY SET (ELSEWHERE (MessageNew))\r\n", b"a1"),
    (b"a1 NOTIFY SET (PERSONAL ())\r\n", b"a1"),
    (b"a1 NOTIFY SET (PERSONAL (MessageNew)) STATUS\r\n", b"a1"),
    (b"a1 NOTIFY ALL\r\n", b"a1"),
    (b'a1 URLFETCH ("u" BINARY BODY)\r\n', b"a1"),  # RFC 5524 6: one of the two
    (b'a1 URLFETCH ("u")\r\n', b"a1"),
    (b'a1 URLFETCH ("u" PARTIAL)\r\n', b"a1"),
    (b"a1 URLFETCH\r\n", b"a1"),
    (b"\r\n", None),
    (b"a1\r\n", b"a1"),
    (b"+ NOOP\r\n", None),
    (b"a1 FROB\r\n", b"a1"),
    (b"a1 NOOP extra\r\n", b"a1"),
    (b"a1  NOOP\r\n", b"a1"),
    (b"a1 NOOP\r", None),  # only a bare CR: not a line end, so incomplete
    (b"a1 UID NOOP\r\n", b"a1"),
    (b"a1 UID\r\n", b"a1"),
    (b"a1 LOGIN alice\r\n", b"a1"),
    (b"a1 LOGIN alice \"unterminated\r\n", b"a1"),
    (b'a1 LOGIN alice "bad\\escape"\r\n', b"a1"),
    (b"a1 LOGIN alice \xff\r\n", b"a1"),
    (b"a1 LOGIN alice {2}\r\n\xff\xfe\r\n", b"a1"),
    (b"a1 LOGIN alice {2} x\r\n", b"a1"),
    (b"a1 AUTHENTICATE PLAIN not*base64\r\n", b"a1"),
    (b"a1 AUTHENTICATE PLAIN AGFsaWNl=\r\n", b"a1"),
    (b"a1 SELECT\r\n", b"a1"),
    (b"a1 SELECT &Jjo\r\n", b"a1"),
    (b"a1 SELECT &AGE-\r\n", b"a1"),  # base64 hiding a printable "a"
    (b"a1 SELECT &2D0-\r\n", b"a1"),  # lone surrogate
    (b"a1 SELECT Entw\xc3\xbcrfe\r\n", b"a1"),
    (b"a1 SELECT INBOX (FOO)\r\n", b"a1"),
    (b"a1 SELECT INBOX ()\r\n", b"a1"),
    (b"a1 SELECT INBOX (CONDSTORE CONDSTORE)\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (0 5))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1 0))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC 1 2)\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC)\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1 2 1:*))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1 2 1:5 (1:* 1:5)))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1 2 1:5 (1:2 *)))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1 2 1:5 (1:2)))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1 2 1:5 ))\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (1 2 1:5 (1 2) 3))\r\n", b"a1"),
    (b"a1 CREATE x (USE (\\Bogus))\r\n", b"a1"),
    (b'a1 LIST (RECURSIVEMATCH) "" *\r\n', b"a1"),
    (b'a1 LIST (FROB) "" *\r\n', b"a1"),
    (b'a1 LIST "" * RETURN (FROB)\r\n', b"a1"),
    (b'a1 LIST "" ()\r\n', b"a1"),
    (b"a1 STATUS INBOX ()\r\n", b"a1"),
    (b"a1 STATUS INBOX (MESSAGES BOGUS)\r\n", b"a1"),
    (b"a1 APPEND INBOX\r\n", b"a1"),
    (b"a1 APPEND INBOX \"hello\"\r\n", b"a1"),
    (b'a1 APPEND INBOX "31-Feb-2020 00:00:00 +0000" {1}\r\nx\r\n', b"a1"),
    (b'a1 APPEND INBOX "01-Feb-2020 24:00:00 +0000" {1}\r\nx\r\n', b"a1"),
    (b'a1 APPEND INBOX "01-Foo-2020 00:00:00 +0000" {1}\r\nx\r\n', b"a1"),
    (b'a1 APPEND INBOX "01-Feb-2020 00:00:00 +0075" {1}\r\nx\r\n', b"a1"),
    (b"a1 APPEND INBOX (\\Seen {1}\r\nx\r\n", b"a1"),
    (b"a1 APPEND INBOX {1}\r\nx y\r\n", b"a1"),  # MULTIAPPEND: each message a literal
    # A literal8 only as APPEND's message (RFC 3516 section 5).
    (b"a1 APPEND ~{5}\r\nINBOX {1}\r\nx\r\n", b"a1"),
    (b"a1 APPEND INBOX ~5}\r\n", b"a1"),
    (b"a1 APPEND INBOX ~ {1}\r\nx\r\n", b"a1"),
    (b"a1 LOGIN ~{5}\r\nalice secret\r\n", b"a1"),
    (b"a1 LOGIN alice ~{6+}\r\nsecret\r\n", b"a1"),
    (b"a1 SELECT ~{5}\r\nINBOX\r\n", b"a1"),
    (b"a1 SEARCH SUBJECT ~{2}\r\nhi\r\n", b"a1"),
    (b'a1 LIST "" ~{1}\r\n*\r\n', b"a1"),
    (b"a1 UID EXPUNGE\r\n", b"a1"),
    (b"a1 FETCH 0 FLAGS\r\n", b"a1"),
    (b"a1 FETCH 4294967296 FLAGS\r\n", b"a1"),
    (b"a1 FETCH 1: FLAGS\r\n", b"a1"),
    # RFC 5182 seq-last-command: "$" is a whole sequence-set, never part of one.
    (b"a1 FETCH $,1 FLAGS\r\n", b"a1"),
    (b"a1 FETCH 1,$ FLAGS\r\n", b"a1"),
    (b"a1 UID FETCH 1:$ FLAGS\r\n", b"a1"),
    (b"a1 UID FETCH $:5 FLAGS\r\n", b"a1"),
    (b"a1 STORE $$ +FLAGS (\\Seen)\r\n", b"a1"),
    (b"a1 COPY $1 Trash\r\n", b"a1"),
    (b"a1 SEARCH UID 1:$\r\n", b"a1"),
    (b"a1 SEARCH $,2\r\n", b"a1"),
    (b"a1 SELECT INBOX (QRESYNC (67890007 20050715194045000 $))\r\n", b"a1"),
    (b"a1 SEARCH RETURN (SAVE FROB) ALL\r\n", b"a1"),
    (b"a1 FETCH 1 ()\r\n", b"a1"),
    (b"a1 FETCH 1 (ALL)\r\n", b"a1"),
    (b"a1 FETCH 1 BODY.PEEK\r\n", b"a1"),
    (b"a1 FETCH 1 BODY[MIME]\r\n", b"a1"),
    (b"a1 FETCH 1 BODY[0]\r\n", b"a1"),
    (b"a1 FETCH 1 BODY[1.]\r\n", b"a1"),
    (b"a1 FETCH 1 BODY[HEADER.FIELDS ()]\r\n", b"a1"),
    (b"a1 FETCH 1 BODY[]<0.0>\r\n", b"a1"),
    (b"a1 FETCH 1 BODY[]<5>\r\n", b"a1"),
    (b"a1 FETCH 1 (PREVIEW (FUZZY))\r\n", b"a1"),
    (b"a1 SEARCH EMAILID M+1\r\n", b"a1"),
    (b"a1 SEARCH THREADID\r\n", b"a1"),
    (b"a1 COMPRESS\r\n", b"a1"),
    (b"a1 COMPRESS DEFLATE LEVEL\r\n", b"a1"),
    (b"a1 SEARCH SAVEDSINCE\r\n", b"a1"),
    (b"a1 SEARCH SAVEDON 31-Feb-2026x\r\n", b"a1"),
    (b"a1 SEARCH EMAILID " + b"M" * 256 + b"\r\n", b"a1"),
    (b"a1 FETCH 1 (PREVIEW ())\r\n", b"a1"),
    (b"a1 FETCH 1 (PREVIEW (LAZY LAZY2))\r\n", b"a1"),
    (b"a1 FETCH 1 FLAGS (VANISHED)\r\n", b"a1"),
    (b"a1 FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n", b"a1"),
    (b"a1 UID FETCH 1 FLAGS (VANISHED)\r\n", b"a1"),
    (b"a1 UID FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED VANISHED)\r\n", b"a1"),
    (b"a1 UID FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED 2)\r\n", b"a1"),
    (b"a1 FETCH 1 FLAGS (CHANGEDSINCE 0)\r\n", b"a1"),
    (b"a1 FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)\r\n", b"a1"),
    (b"a1 STORE 1 FLAGS\r\n", b"a1"),
    (b"a1 STORE 1 XFLAGS (\\Seen)\r\n", b"a1"),
    (b"a1 STORE 1 +FLAGS (\\*)\r\n", b"a1"),
    (b"a1 SEARCH\r\n", b"a1"),
    (b"a1 SEARCH FROB\r\n", b"a1"),
    (b"a1 SEARCH ()\r\n", b"a1"),
    (b"a1 SEARCH OR SEEN\r\n", b"a1"),
    (b"a1 SEARCH SINCE 32-Jan-2020\r\n", b"a1"),
    (b"a1 SEARCH " + b"(" * 100 + b"ALL" + b")" * 100 + b"\r\n", b"a1"),
    (b"a1 SEARCH " + b"NOT " * 5000 + b"ALL\r\n", b"a1"),
    (b"a1 SORT () UTF-8 ALL\r\n", b"a1"),
    (b"a1 SORT (SUBJECT) UTF-8\r\n", b"a1"),
    (b"a1 SORT (REVERSE) UTF-8 ALL\r\n", b"a1"),
    (b"a1 SORT RETURN (SAVE) (ARRIVAL) UTF-8 ALL\r\n", b"a1"),
    (b"a1 SORT RETURN (ARRIVAL) UTF-8 ALL\r\n", b"a1"),
    (b"a1 THREAD REFERENCES UTF-8\r\n", b"a1"),
    (b"a1 SEARCH RETURN (PARTIAL 1) ALL\r\n", b"a1"),
    (b"a1 SEARCH RETURN (PARTIAL 1:*) ALL\r\n", b"a1"),
    (b"a1 SEARCH RETURN (PARTIAL *:1) ALL\r\n", b"a1"),
    (b"a1 SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL\r\n", b"a1"),
    (b"a1 SORT RETURN (PARTIAL 1:2 ALL) (SIZE) UTF-8 ALL\r\n", b"a1"),
    (b"a1 CANCELUPDATE\r\n", b"a1"),
    (b"a1 CANCELUPDATE t1\r\n", b"a1"),
    (b"a1 THREAD X-NONE UTF-8 ALL\r\n", b"a1"),
    (b"a1 COPY 1\r\n", b"a1"),
    (b"a1 ENABLE\r\n", b"a1"),
    (b"a1 ID (\"name\")\r\n", b"a1"),
    (b"a1 SETQUOTA \"\" (STORAGE)\r\n", b"a1"),
]


@pytest.mark.parametrize(("data", "tag"), INVALID, ids=[d[:40].decode("latin-1") for d, _ in INVALID])
def test_invalid_command_is_a_parse_error_only_once_complete(data: bytes, tag: bytes | None) -> None:
    for cut in range(len(data)):
        with pytest.raises(Incomplete):
            parse_command(data[:cut], max_literal=MAX_LITERAL)
    if not data.endswith(b"\n"):
        with pytest.raises(NeedMore):
            parse_command(data, max_literal=MAX_LITERAL)
        return
    with pytest.raises(ParseError) as info:
        parse_command(data + b"b NOOP\r\n", max_literal=MAX_LITERAL)
    assert info.value.tag == tag
    assert info.value.consumed == len(data)
    assert not info.value.bad_charset
    assert info.value.message.isascii() and "\n" not in info.value.message


def test_parse_error_covers_literal_octets_so_they_are_not_run_as_a_command() -> None:
    data = b"a1 FROB {14}\r\nb DELETE INBOX\r\n"
    with pytest.raises(ParseError) as info:
        parse_command(data, max_literal=100)
    assert info.value.consumed == len(data)


def test_unknown_charset_is_refused_with_badcharset() -> None:
    data = b"a1 SEARCH CHARSET ISO-8859-1 SUBJECT x\r\n"
    with pytest.raises(BadCharset) as info:
        parse_command(data, max_literal=100)
    assert info.value.bad_charset
    assert info.value.tag == b"a1"
    assert info.value.consumed == len(data)
    with pytest.raises(BadCharset):
        parse_command(b"a1 SORT (DATE) KOI8-R ALL\r\n", max_literal=100)


@pytest.mark.parametrize(
    ("data", "empties"),
    [
        (b"a1 SEARCH RETURN (SAVE) FROB\r\n", True),
        (b"a1 UID SEARCH RETURN (MIN SAVE) UID 1,$\r\n", True),
        (b"a1 SEARCH RETURN (SAVE FROB) ALL\r\n", True),
        (b"a1 SEARCH RETURN (MIN) FROB\r\n", False),
        (b"a1 SEARCH FROB\r\n", False),
        (b"a1 FETCH $,1 FLAGS\r\n", False),
    ],
)
def test_a_bad_search_with_save_says_it_empties_the_saved_result(data: bytes, empties: bool) -> None:
    # RFC 5182 2.1: a SEARCH ... SAVE answered BAD (or NO) leaves "$" empty.
    with pytest.raises(ParseError) as info:
        parse_command(data, max_literal=100)
    assert info.value.empties_saved is empties


def test_a_save_search_with_an_unknown_charset_empties_the_saved_result_too() -> None:
    with pytest.raises(BadCharset) as info:
        parse_command(b"a1 SEARCH RETURN (SAVE) CHARSET KOI8-R ALL\r\n", max_literal=100)
    assert info.value.empties_saved


def test_search_string_that_is_not_utf8_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_command(b"a1 SEARCH CHARSET UTF-8 SUBJECT {1}\r\n\xe9\r\n", max_literal=100)


# -- literals and limits -------------------------------------------------------


def test_synchronizing_literal_asks_for_continuation_once() -> None:
    with pytest.raises(NeedContinuation) as info:
        parse_command(b"a1 LOGIN {5}\r\n", max_literal=100)
    assert info.value.size == 5
    # Some octets arrived: the client saw "+", so only more input is needed.
    with pytest.raises(NeedMore):
        parse_command(b"a1 LOGIN {5}\r\nal", max_literal=100)
    with pytest.raises(NeedContinuation) as info:
        parse_command(b"a1 LOGIN {5}\r\nalice {0}\r\n", max_literal=100)
    assert info.value.size == 0


def test_literal8_is_framed_like_a_literal() -> None:
    with pytest.raises(NeedContinuation) as info:
        parse_command(b"a1 APPEND INBOX ~{5}\r\n", max_literal=100)
    assert info.value.size == 5
    with pytest.raises(NeedMore) as more:
        parse_command(b"a1 APPEND INBOX ~{5+}\r\n", max_literal=100)
    assert more.value.at_least == 28
    with pytest.raises(LiteralTooBig):
        parse_command(b"a1 APPEND INBOX ~{101+}\r\n", max_literal=100)


def test_non_synchronizing_literal_never_asks_for_continuation() -> None:
    with pytest.raises(NeedMore):
        parse_command(b"a1 LOGIN {5+}\r\n", max_literal=100)


@pytest.mark.parametrize(
    ("data", "at_least"),
    [
        (b"a1 NOO", 7),  # no line end yet: one more byte may complete it
        (b"a1 LOGIN {5+}\r\n", 20),  # the literal's octets end at 20
        (b"a1 APPEND INBOX {10}\r\n0123", 32),
        (b"a1 LOGIN {5}\r\nalice {3+}\r\nab", 29),
    ],
)
def test_need_more_says_how_long_the_buffer_must_grow(data: bytes, at_least: int) -> None:
    with pytest.raises(NeedMore) as info:
        parse_command(data, max_literal=100)
    assert info.value.at_least == at_least


@pytest.mark.parametrize(
    ("data", "non_sync"),
    [
        (b"a1 APPEND INBOX {101}\r\n", False),
        (b"a1 APPEND INBOX {101+}\r\n", True),
        (b"a1 APPEND INBOX {99999999999999999999999999}\r\n", False),
    ],
)
def test_literal_over_the_limit_is_refused_before_its_octets(data: bytes, non_sync: bool) -> None:
    with pytest.raises(LiteralTooBig) as info:
        parse_command(data, max_literal=100)
    assert info.value.tag == b"a1"
    assert info.value.non_synchronizing is non_sync
    assert info.value.consumed == len(data)
    assert info.value.size > 100


def test_without_literal_plus_non_synchronizing_literals_follow_literal_minus() -> None:
    ok = b"a1 APPEND INBOX {4096+}\r\n" + b"x" * 4096 + b"\r\n"
    command, _ = parse_command(ok, literal_plus=False, max_literal=10**6)
    assert isinstance(command, c.Append) and len(command.message) == 4096
    with pytest.raises(LiteralTooBig):
        parse_command(b"a1 APPEND INBOX {4097+}\r\n", literal_plus=False, max_literal=10**6)
    # Synchronizing literals keep the connection's own limit.
    with pytest.raises(NeedContinuation):
        parse_command(b"a1 APPEND INBOX {4097}\r\n", literal_plus=False, max_literal=10**6)


def test_line_over_the_limit_is_refused_without_waiting_for_its_end() -> None:
    with pytest.raises(LineTooLong) as info:
        parse_command(b"a1 LOGIN " + b"x" * 100, max_literal=100, max_line=64)
    assert info.value.tag == b"a1"
    with pytest.raises(NeedMore):
        parse_command(b"a1 LOGIN " + b"x" * 50, max_literal=100, max_line=64)
    command, _ = parse_command(b"a1 LOGIN alice " + b"x" * 47 + b"\r\n", max_literal=100, max_line=64)
    assert isinstance(command, c.Login)


def test_line_limit_counts_all_lines_of_a_command_but_not_literal_octets() -> None:
    data = b"a1 LOGIN {40}\r\n" + b"u" * 40 + b" {40}\r\n" + b"p" * 40 + b"\r\n"
    command, _ = parse_command(data, max_literal=100, max_line=32)
    assert isinstance(command, c.Login) and command.password == "p" * 40
    many = b"a1 LOGIN {1}\r\nu" + b" {1}\r\np" * 20 + b"\r\n"
    with pytest.raises(LineTooLong):
        parse_command(many, max_literal=100, max_line=64)


def test_literals_of_one_command_together_may_not_exceed_max_literals() -> None:
    # Issue 15 item 5: before login each literal is small, and so is their sum.
    chain = b"a1 LOGIN {40}\r\n" + b"u" * 40 + b" {40}\r\n" + b"p" * 40 + b"\r\n"
    command, _ = parse_command(chain, max_literal=40, max_literals=80)
    assert isinstance(command, c.Login)
    with pytest.raises(LiteralTooBig) as info:
        parse_command(chain, max_literal=40, max_literals=79)
    assert info.value.tag == b"a1" and info.value.consumed == chain.index(b"p")
    assert not info.value.non_synchronizing


def test_a_kept_framer_searches_a_line_arriving_in_pieces_once() -> None:
    framer = Framer(max_line=DEFAULT_MAX_LINE)
    line = b"a1 LOGIN alice " + b"x" * 60000 + b"\r\n"
    for cut in range(1000, len(line), 1000):
        with pytest.raises(NeedMore):
            parse_command(line[:cut], max_literal=100, framer=framer)
    command, used = parse_command(line, max_literal=100, framer=framer)
    assert isinstance(command, c.Login) and used == len(line)
    assert framer.examined == len(line)  # framed afresh each time: about 30 times that


def test_pipelined_commands_are_parsed_one_at_a_time() -> None:
    buf = b"a1 NOOP\r\nb2 LOGIN {3+}\r\nbob pw\r\nc3 LOGOUT\r\n"
    seen = []
    while buf:
        command, used = parse_command(buf, max_literal=100)
        seen.append(command)
        buf = buf[used:]
    assert seen == [c.Noop(tag=b"a1"), c.Login(tag=b"b2", username="bob", password="pw"), c.Logout(tag=b"c3")]


# -- helpers for the connection --------------------------------------------------


@pytest.mark.parametrize(
    ("line", "done"),
    [(b"DONE\r\n", True), (b"done\n", True), (b"DONE", False), (b"DONE x\r\n", False), (b"a1 DONE\r\n", False)],
)
def test_is_idle_done_recognises_only_done(line: bytes, done: bool) -> None:
    assert is_idle_done(line) is done


def test_decode_sasl_response_decodes_base64_and_cancel() -> None:
    assert decode_sasl_response(b"AGFsaWNlAHB3\r\n") == b"\0alice\0pw"
    assert decode_sasl_response(b"\r\n") == b""
    assert decode_sasl_response(b"*\r\n") is None
    with pytest.raises(ParseError):
        decode_sasl_response(b"!!\r\n")


def test_fetch_attribute_renders_its_response_name() -> None:
    command, _ = parse_command(
        b"a1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM \"X y\")]<0.100> BODY[1.2.MIME] BINARY.PEEK[1]<5.10> RFC822.SIZE BODY BINARY.SIZE[3])\r\n",
        max_literal=100,
    )
    assert isinstance(command, c.Fetch)
    assert [a.response_name() for a in command.attributes] == [
        b'BODY[HEADER.FIELDS (FROM "X y")]<0>',
        b"BODY[1.2.MIME]",
        b"BINARY[1]<5>",
        b"RFC822.SIZE",
        b"BODY",
        b"BINARY.SIZE[3]",
    ]
    assert [a.sets_seen for a in command.attributes] == [False, True, False, False, False, False]
    assert command.attributes[0].request_text() == b'BODY.PEEK[HEADER.FIELDS (FROM "X y")]<0.100>'


# -- properties -----------------------------------------------------------------

_TOKENS = [
    b"a1 ",
    b"UID ",
    b"FETCH ",
    b"SEARCH ",
    b"STORE ",
    b"LIST ",
    b"SELECT ",
    b"APPEND ",
    b"LOGIN ",
    b"SORT ",
    b"1:*",
    b"*",
    b"2,4:7",
    b" ",
    b"(",
    b")",
    b"[",
    b"]",
    b"<0.5>",
    b"BODY",
    b".PEEK",
    b"HEADER.FIELDS",
    b'"',
    b'\\"',
    b"\\",
    b"{",
    b"}",
    b"{3}\r\n",
    b"{2+}\r\n",
    b"{0}\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b"NIL",
    b"INBOX",
    b"&",
    b"&-",
    b"&APw-",
    b"-",
    b"+FLAGS",
    b"\\Seen",
    b"OR",
    b"NOT",
    b"CHARSET",
    b"UTF-8",
    b"RETURN",
    b"17-Jul-1996",
    b'"17-Jul-1996 02:44:25 -0700"',
    b"0",
    b"4294967296",
    b"\x00",
    b"\xff",
    b"%",
]
_imapish = st.lists(st.sampled_from(_TOKENS), max_size=30).map(b"".join)


@st.composite
def _mutated_valid_command(draw: st.DrawFn) -> bytes:
    """A valid command with a few bytes or tokens inserted, removed or replaced."""
    data = bytearray(draw(st.sampled_from([d for d, _ in VALID])))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            data[at:at] = draw(st.one_of(st.sampled_from(_TOKENS), st.binary(min_size=1, max_size=3)))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 4))]
        else:
            data[at : at + 1] = draw(st.binary(min_size=1, max_size=1))
    return bytes(data)


@pytest.mark.slow
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), _imapish, _mutated_valid_command()))
def test_parser_only_returns_a_command_or_raises_its_own_signals(data: bytes) -> None:
    try:
        command, used = parse_command(data, max_literal=64, max_line=128)
    except ParseSignal:
        return
    assert isinstance(command, c.Command)
    assert 0 < used <= len(data)
    # A prefix of what parsed can never be mistaken for a whole command.
    for cut in range(used):
        with pytest.raises(Incomplete):
            parse_command(data[:cut], max_literal=64, max_line=128)
