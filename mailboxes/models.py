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
from django.utils import timezone


class Domain(models.Model):
    name = models.CharField(max_length=253, unique=True)
    active = models.BooleanField(default=True)
    default_quota = models.BigIntegerField(default=0, help_text="bytes; 0 = the server default")
    max_accounts = models.IntegerField(default=0, help_text="0 = no limit")
    trash_retention_days = models.IntegerField(default=30)
    # May aliases of this domain forward to addresses on other hosts?
    allow_external_forwards = models.BooleanField(default=False)
    require_two_factor = models.BooleanField(default=False)  # its accounts must enrol before using the web
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class AccountManager(BaseUserManager["Account"]):
    def get_by_natural_key(self, username: str) -> "Account":
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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="folder_owner_name")]


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
        indexes = [models.Index(fields=["sha256"], condition=models.Q(orphaned_at__isnull=False),
                                name="blob_orphaned")]


class Message(models.Model):
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="messages")
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
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "uid"], name="message_folder_uid")]
        indexes = [
            models.Index(fields=["folder", "modseq"], name="message_folder_modseq"),
            models.Index(fields=["folder", "internal_date"], name="message_folder_date"),
            models.Index(fields=["blob"], name="message_blob"),
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

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt"], name="outbound_due")]


class MaildropLock(models.Model):
    """POP3's exclusive maildrop lock (RFC 1939 8), shared by every worker
    process. A lease: a holder that dies stops renewing, and the lock lapses."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    holder = models.CharField(max_length=100)
    expires = models.DateTimeField()


class AccountSettings(models.Model):
    """What the user sets in the webmail: identity, vacation, forwarding."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="settings")
    signature = models.TextField(blank=True, default="")
    vacation_enabled = models.BooleanField(default=False)
    vacation_subject = models.CharField(max_length=200, blank=True, default="")
    vacation_body = models.TextField(blank=True, default="")
    vacation_days = models.IntegerField(default=7)
    forward_to = models.CharField(max_length=320, blank=True, default="")
    forward_keep_copy = models.BooleanField(default=True)


class VacationReply(models.Model):
    """Who got an auto-reply when (RFC 3834: at most once per sender per N days)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    sender = models.CharField(max_length=320)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "sender"], name="vacation_once")]


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
