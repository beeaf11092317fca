"""The mail store's tables. Only mailboxes.store writes them (DESIGN.md rule 1).

Invariants carried here:
- (folder, uid) is unique; a folder's uids strictly ascend and are never
  reused while its uidvalidity stands: they are allocated from
  Folder.uidnext under a row lock.
- every change to a folder's messages raises Folder.highestmodseq and stamps
  the changed rows (or the Expunged tombstone) with the new value.
- message bytes live once in Blob, keyed by SHA-256, shared by every copy.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Domain(models.Model):
    name = models.CharField(max_length=253, unique=True)
    active = models.BooleanField(default=True)
    default_quota = models.BigIntegerField(default=0, help_text="bytes; 0 = the server default")
    max_accounts = models.IntegerField(default=0, help_text="0 = no limit")
    trash_retention_days = models.IntegerField(default=30)
    # May aliases of this domain forward to addresses on other hosts?
    allow_external_forwards = models.BooleanField(default=False)
    # Our MTA-STS policy (RFC 8461) for the domain: "" publishes none; the id
    # changes with the mode, so that senders fetch the new policy (3.1).
    mta_sts_mode = models.CharField(max_length=8, blank=True, default="")
    mta_sts_id = models.CharField(max_length=32, blank=True, default="")
    require_two_factor = models.BooleanField(default=False)  # its accounts must enrol before using the web
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class AccountManager(BaseUserManager["Account"]):
    def get_by_natural_key(self, username: str) -> Account:
        return self.get(address=username.lower())


class Account(AbstractBaseUser, PermissionsMixin):
    address = models.CharField(max_length=320, unique=True)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="accounts")
    display_name = models.CharField(max_length=200, blank=True, default="")
    quota = models.BigIntegerField(default=0, help_text="bytes; 0 = unlimited")
    used_bytes = models.BigIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    admin_domains = models.ManyToManyField(Domain, blank=True, related_name="admins")
    date_joined = models.DateTimeField(default=timezone.now)
    # APOP (RFC 1939 7) needs a secret the server can read; empty = APOP off.
    apop_secret = models.CharField(max_length=128, blank=True, default="")
    # The highest quota warning (80 or 95 percent) sent since usage last fell below 80%.
    quota_warning_level = models.IntegerField(default=0)

    USERNAME_FIELD = "address"
    EMAIL_FIELD = "address"
    REQUIRED_FIELDS: list[str] = []
    objects = AccountManager()

    def __str__(self) -> str:
        return self.address


class Alias(models.Model):
    """source -> targets. A source of '@domain' is that domain's catch-all."""

    source = models.CharField(max_length=320, unique=True)
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="aliases")
    targets = models.JSONField(default=list)
    created = models.DateTimeField(default=timezone.now)


class Folder(models.Model):
    owner = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=1000)  # '/' is the hierarchy separator
    uidvalidity = models.BigIntegerField()
    uidnext = models.BigIntegerField(default=1)
    highestmodseq = models.BigIntegerField(default=1)
    # The lowest UID no IMAP session has claimed as \Recent yet (RFC 3501 2.3.2):
    # a read-write session's claim moves it up to what it was told of.
    recent_uid = models.BigIntegerField(default=1)
    special_use = models.CharField(max_length=16, blank=True, default="")
    subscribed = models.BooleanField(default=True)
    # Every keyword a message of this folder has held: IMAP's FLAGS (RFC 3501
    # 7.2.6), which only grows, so no keyword a message holds is ever left out.
    keywords = models.JSONField(default=list)
    # URLAUTH (RFC 4467 3): the mailbox access key, made on first GENURLAUTH, dropped by RESETKEY.
    urlauth_key = models.BinaryField(null=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="folder_owner_name")]


class Subscription(models.Model):
    """A name subscribed to (IMAP SUBSCRIBE) whose folder no longer exists:
    RFC 3501 6.3.6 keeps it subscribed, and a folder created again under it
    is subscribed. Existing folders carry their own Folder.subscribed."""

    owner = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lost_subscriptions")
    name = models.CharField(max_length=1000)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="subscription_owner_name")]


class Blob(models.Model):
    """Immutable message bytes and the facts parsed from them once, at delivery."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    data = models.BinaryField()
    size = models.BigIntegerField()
    header_bytes = models.IntegerField(default=0)
    envelope = models.JSONField()
    structure = models.JSONField()
    subject = models.TextField(blank=True, default="")
    from_text = models.TextField(blank=True, default="")
    to_text = models.TextField(blank=True, default="")
    cc_text = models.TextField(blank=True, default="")
    bcc_text = models.TextField(blank=True, default="")
    sent_date = models.DateTimeField(null=True)
    # The Date: field's calendar day in its own zone (SEARCH SENTBEFORE/ON/SINCE, RFC 3501 6.4.4).
    sent_day = models.DateField(null=True)
    message_id = models.TextField(blank=True, default="")
    header_text = models.TextField(blank=True, default="")
    body_text = models.TextField(blank=True, default="")
    preview = models.CharField(max_length=300, blank=True, default="")
    has_attachments = models.BooleanField(default=False)
    # When the blob collector (store/maintenance.py) first found no row
    # referring to these bytes; NULL while referred to. Deleted a grace period
    # after that if still unreferenced.
    orphaned_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["sha256"], condition=models.Q(orphaned_at__isnull=False), name="blob_orphaned")]


class Message(models.Model):
    # No index of their own: the indexes below lead with folder and blob
    # (docs/PERFORMANCE.md, "Big folders, third round").
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="messages", db_index=False)
    uid = models.BigIntegerField()
    modseq = models.BigIntegerField()
    seen = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    draft = models.BooleanField(default=False)
    keywords = models.JSONField(default=list)
    internal_date = models.DateTimeField(default=timezone.now)
    size = models.BigIntegerField()
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "uid"], name="message_folder_uid")]
        indexes = [
            models.Index(fields=["folder", "modseq"], name="message_folder_modseq"),
            models.Index(fields=["folder", "internal_date"], name="message_folder_date"),
            # Who holds these bytes (the blob collector, COPY) and, for a text
            # SEARCH that found candidate blobs by trigram, which of them are in
            # this folder: one probe per candidate, whatever the statistics say.
            models.Index(fields=["blob", "folder"], name="message_blob_folder"),
            # SEARCH UNSEEN (and the webmail's unread count) from this index
            # alone: an index-only scan of the unseen UIDs, not of the folder's
            # rows (docs/PERFORMANCE.md, "Big folders, second round").
            models.Index(fields=["folder", "uid"], condition=models.Q(seen=False), name="message_folder_unseen"),
        ]


class Expunged(models.Model):
    """Tombstone: tells other sessions and CONDSTORE/QRESYNC clients what went away."""

    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="expunged")
    uid = models.BigIntegerField()
    modseq = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["folder", "modseq"], name="expunged_folder_modseq")]


class SendAsGrant(models.Model):
    """An address ('name@domain') or a whole domain ('@domain') an admin lets
    an account use in From:/Sender: beyond its own address and aliases."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="send_as")
    address = models.CharField(max_length=320)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "address"], name="send_as_once")]


class OutboundMessage(models.Model):
    """A message accepted for delivery to other hosts; the relay (Celery) drains it."""

    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    mail_from = models.CharField(max_length=320, blank=True, default="")
    sender = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    # The one domain the relay may DKIM-sign this message as, decided when it
    # was queued (store.signing_domain); "" = send it unsigned.
    dkim_domain = models.CharField(max_length=253, blank=True, default="")
    # RFC 3461 4.3, 4.4: what a DSN about it returns (FULL, HDRS, "" = not asked)
    # and the sender's envelope id, decoded from xtext.
    dsn_ret = models.CharField(max_length=4, blank=True, default="")
    dsn_envid = models.CharField(max_length=100, blank=True, default="")
    # RFC 8689: MAIL FROM ... REQUIRETLS: only over verified TLS to a host that offers it.
    require_tls = models.BooleanField(default=False)
    # RFC 3030 3: MAIL FROM ... BODY=BINARYMIME: the relay may send it only by BDAT.
    binarymime = models.BooleanField(default=False)


class OutboundRecipient(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        DEFERRED = "deferred"
        SENT = "sent"
        FAILED = "failed"

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="recipients")
    address = models.CharField(max_length=320)
    domain = models.CharField(max_length=253)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.IntegerField(default=0)
    next_attempt = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")
    # The sender was told this recipient is delayed (one RFC 3464 "delayed" DSN, ever).
    delay_warned = models.BooleanField(default=False)
    # RFC 3461 4.1, 4.2: NOTIFY ("" = not given, else NEVER or a comma list of
    # SUCCESS, FAILURE, DELAY) and ORCPT ("addr-type;address", decoded).
    dsn_notify = models.CharField(max_length=22, blank=True, default="")
    dsn_orcpt = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt"], name="outbound_due")]


class MaildropLock(models.Model):
    """POP3's exclusive maildrop lock (RFC 1939 8), shared by every worker
    process. A lease: a holder that dies stops renewing, and the lock lapses."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    holder = models.CharField(max_length=100)
    expires = models.DateTimeField()


class AccountSettings(models.Model):
    """What the user sets in the webmail beside the display name: the
    signature, conversations and the rich editor. Vacation and forwarding
    are Sieve (store/preferences.py)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="settings")
    signature = models.TextField(blank=True, default="")
    conversations = models.BooleanField(default=True)  # the list grouped by thread (RFC 5256 REFERENCES)
    rich_compose = models.BooleanField(default=True)  # the HTML editor; off writes plain text


class Contact(models.Model):
    """One person in an account's address book; `auto` when it was added
    because the account wrote to them (not yet edited by hand)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, blank=True, default="")
    phone = models.CharField(max_length=100, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    auto = models.BooleanField(default=False)
    updated = models.DateTimeField(default=timezone.now)


class ContactAddress(models.Model):
    """An address of a contact (lower-cased); one contact per address in an account."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="addresses")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=320)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "address"], name="contact_address_unique")]


class ContactGroup(models.Model):
    """A named group of an account's contacts (a contact can be in several);
    names are unique in an account whatever their case."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contact_groups")
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(Contact, related_name="groups", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), "account", name="contact_group_name_unique")]


class LoginRecord(models.Model):
    """Last successful login of an account per protocol (imap, pop3, smtp, web...)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="logins")
    protocol = models.CharField(max_length=16)
    at = models.DateTimeField(default=timezone.now)
    ip = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "protocol"], name="login_per_protocol")]


class AuditEntry(models.Model):
    """Who changed what in the dashboard, and when."""

    actor = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=400, blank=True, default="")
    detail = models.JSONField(default=dict)
    at = models.DateTimeField(default=timezone.now, db_index=True)


class DkimKey(models.Model):
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="dkim_keys")
    selector = models.CharField(max_length=63)
    algorithm = models.CharField(max_length=16, default="rsa")  # rsa | ed25519
    private_key = models.TextField()
    public_key = models.TextField()
    active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "selector"], name="dkim_domain_selector")]


class TransferJob(models.Model):
    """An import run by a Celery worker (mailboxes.transfer): where from, how
    far it got, how it ended. The remote password is kept encrypted only while
    the job may still need it, and emptied when the job ends."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    started_by = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=600)  # imaps://user@host:port, never a password
    options = models.JSONField(default=dict)
    secret = models.BinaryField(default=b"", blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.JSONField(default=dict)
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True)
    finished = models.DateTimeField(null=True)


class SpamLesson(models.Model):
    """A message rspamd has been taught (mailboxes/store/learning.py): one row
    per stored bytes, so the same message is never learned twice as the same
    class; filing it the other way later re-teaches it."""

    blob_sha = models.CharField(max_length=64, unique=True)  # not a foreign key: the blob collector frees bytes freely
    spam = models.BooleanField()
    account = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="+")
    learned_at = models.DateTimeField(default=timezone.now)


class DomainSpamPolicy(models.Model):
    """A domain's spam settings from the dashboard (mailboxes/store/spam.py),
    passed to rspamd with each message. A threshold left empty is rspamd's own."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="spam_policy")
    enabled = models.BooleanField(default=True)
    reject_score = models.FloatField(null=True, blank=True)
    junk_score = models.FloatField(null=True, blank=True)
    greylist_score = models.FloatField(null=True, blank=True)
    greylisting = models.BooleanField(default=True)
    allow = models.JSONField(default=list)  # sender addresses or domains: never Junk, never refused
    block = models.JSONField(default=list)  # sender addresses or domains: always refused


class AccountSpamAllow(models.Model):
    """An account's "never Junk mail from" list, set in the webmail."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="spam_allow")
    senders = models.JSONField(default=list)


class SpamDay(models.Model):
    """What the spam filter did with the mail of one day (the dashboard's chart)."""

    day = models.DateField(unique=True)
    rejected = models.IntegerField(default=0)
    greylisted = models.IntegerField(default=0)
    junk = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    unchecked = models.IntegerField(default=0)


class SpamRejection(models.Model):
    """A message rspamd had refused, for the dashboard's "why was this rejected?"."""

    created = models.DateTimeField(default=timezone.now, db_index=True)
    listener = models.CharField(max_length=16)
    ip = models.CharField(max_length=64, blank=True, default="")
    mail_from = models.CharField(max_length=320, blank=True, default="")
    recipients = models.JSONField(default=list)
    score = models.FloatField(default=0)
    symbols = models.JSONField(default=list)
    message = models.CharField(max_length=200, blank=True, default="")
    # Submission: the account that sent it (a compromised account sending spam).
    account = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="+")


class SieveScript(models.Model):
    """A user's Sieve filter (RFC 5804 names them); at most one is active and
    runs at final delivery (mailboxes/store/sieve_delivery.py)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=128)
    text = models.TextField()
    active = models.BooleanField(default=False)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="sieve_script_name"),
            models.UniqueConstraint(fields=["account"], condition=models.Q(active=True), name="sieve_one_active"),
        ]


class DomainSieveScript(models.Model):
    """A domain's script run before or after each user's (Pigeonhole's
    sieve_before / sieve_after), set by the domain's admins."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=6)  # before | after
    text = models.TextField()
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "stage"], name="domain_sieve_stage")]


class SieveSeen(models.Model):
    """What Sieve remembers between deliveries: duplicate keys (RFC 7352)
    and who got which vacation reply (RFC 5230 4.2), until `expires`."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)  # SHA-256 hex of the key
    expires = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="sieve_seen_key")]


class AcmeChallenge(models.Model):
    """An ACME HTTP-01 challenge in flight (RFC 8555 8.3): kept in the database
    so that whichever web process the CA reaches answers it."""

    token = models.CharField(max_length=255, unique=True)
    key_authorization = models.TextField()
    created = models.DateTimeField(auto_now_add=True)


class MtaStsPolicyCache(models.Model):
    """A destination domain's MTA-STS policy as last fetched (RFC 8461 5.1):
    kept until it expires so that an attacker who blocks the TXT lookup or
    the HTTPS fetch later cannot downgrade delivery. Shared by every relay."""

    domain = models.CharField(max_length=255, unique=True)
    policy_id = models.CharField(max_length=32)
    policy = models.TextField()  # the policy file as served
    fetched = models.DateTimeField()
    expires = models.DateTimeField()


class TlsOutcome(models.Model):
    """Outbound TLS negotiations of one UTC day, counted by policy domain,
    policy and result (RFC 8460 4.4), for the daily TLS reports."""

    day = models.DateField()
    policy_domain = models.CharField(max_length=255)
    policy_type = models.CharField(max_length=24)  # sts | tlsa | no-policy-found
    policy_string = models.JSONField(default=list)
    mx_host = models.CharField(max_length=255, blank=True, default="")
    receiving_ip = models.CharField(max_length=64, blank=True, default="")
    result_type = models.CharField(max_length=40, blank=True, default="")  # "" = a successful session
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "policy_domain", "policy_type", "mx_host", "receiving_ip", "result_type"],
                name="tls_outcome_key",
            )
        ]


class TlsReportReceived(models.Model):
    """An SMTP TLS report (RFC 8460) another host sent about one of our
    domains: one row per report and policy domain, its policies summed
    (mailboxes/store/tlsrpt_received.py)."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="tls_reports")
    organization = models.CharField(max_length=255)
    contact = models.CharField(max_length=255, blank=True, default="")
    report_id = models.CharField(max_length=255)
    begin = models.DateTimeField()
    end = models.DateTimeField()
    policy_types = models.JSONField(default=list)  # sts, tlsa, no-policy-found: those the report covered
    successful = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    failures = models.JSONField(default=dict)  # result type -> failed sessions
    source = models.CharField(max_length=8)  # mail | https
    received = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "organization", "report_id"], name="tls_report_received_key")
        ]
        indexes = [models.Index(fields=["domain", "-begin"], name="tls_report_domain_begin")]


class AppPassword(models.Model):
    """A generated password for one mail client, opening only the doors named
    (imap, pop3, smtp, managesieve). Stored as Django's password hash; revoked
    by deleting the row, so its next login anywhere finds nothing."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="app_passwords")
    name = models.CharField(max_length=100)
    password = models.CharField(max_length=200)
    doors = models.JSONField(default=list)
    created = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True)
    last_used_door = models.CharField(max_length=16, blank=True, default="")
    last_used_ip = models.CharField(max_length=64, blank=True, default="")


class TotpDevice(models.Model):
    """An account's RFC 6238 authenticator. Two-factor sign-in is on while it
    is confirmed; last_counter is the time step of the last accepted code, so
    that no code is accepted twice."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="totp")
    secret = models.CharField(max_length=64)
    confirmed = models.BooleanField(default=False)
    last_counter = models.BigIntegerField(default=-1)
    created = models.DateTimeField(default=timezone.now)


class RecoveryCode(models.Model):
    """One single-use recovery code, hashed like a password; deleted when used."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="recovery_codes")
    code = models.CharField(max_length=200)


class WebSession(models.Model):
    """A signed-in browser (webmail or dashboard), for the account's list of
    sessions: which Django session, what browser, from where, last seen."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="web_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    device = models.CharField(max_length=300, blank=True, default="")
    ip = models.CharField(max_length=64, blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)


class Passkey(models.Model):
    """A WebAuthn credential (passkey or security key) of an account, used as
    its second factor; any one of them turns two-factor sign-in on."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=100)
    credential_id = models.CharField(max_length=1400, unique=True)  # base64url
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True)


from .models_bounces import Bounce  # noqa: E402, F401  (models of this app)
from .models_dmarc import DmarcReport, DmarcReportRow, DmarcVerdict  # noqa: E402, F401
from .models_images import RemoteImageSender  # noqa: E402, F401  (the "always load images" senders)
from .models_metadata import MetadataEntry  # noqa: E402, F401  (IMAP METADATA, RFC 5464)
