"""The mail store: the ONE API every front door uses (DESIGN.md rule 1).

Synchronous, atomic, typed functions that return plain dataclasses. SMTP,
IMAP, POP3/POP2, the webmail, the dashboard and Celery tasks call these and
nothing else; no model is written anywhere outside this package.
"""

from . import search
from .accounts import (
    apop_secret,
    authenticate,
    create_account,
    create_alias,
    create_domain,
    delete_account,
    delete_alias,
    delete_domain,
    get_account,
    get_account_by_id,
    list_accounts,
    list_domains,
    quota_check,
    quota_usage,
    recalculate_usage,
    resolve_recipient,
    set_alias_targets,
    set_apop_secret,
    set_password,
    update_account,
)
from .acme import acme_challenge_response, hosted_web_names, put_acme_challenge, remove_acme_challenges
from .addresses import normalize_address, normalize_domain
from .admin import (
    admin_actor,
    admin_alias,
    admin_create_alias,
    admin_create_domain,
    admin_delete_alias,
    admin_delete_domain,
    admin_domain,
    admin_generate_dkim,
    admin_list_aliases,
    admin_list_domains,
    admin_update_alias,
    admin_update_domain,
    hosted_domain,
)
from .admin_accounts import (
    admin_account,
    admin_create_account,
    admin_delete_account,
    admin_grant_send_as,
    admin_list_accounts,
    admin_revoke_send_as,
    admin_set_password,
    admin_set_roles,
    admin_update_account,
    last_logins,
    record_login,
)
from .admin_spam import FlaggedAccount, SpamReport, admin_set_spam_settings, admin_spam_report, admin_spam_settings
from .admin_stats import admin_audit_log, admin_delete_outbound, admin_list_queue, admin_overview, admin_retry_outbound
from .admin_types import (
    AccountDetail,
    AccountRow,
    Actor,
    AliasRow,
    AuditRow,
    CreatedAccount,
    DayCount,
    DomainDetail,
    FolderUsage,
    LoginInfo,
    Overview,
    Page,
    QueueRow,
)
from .bounces import RepeatedBounce, admin_repeated_bounces, bounced_message, take_bounce
from .contact_groups import (
    GroupInfo,
    add_to_group,
    create_group,
    delete_group,
    group_members,
    group_suggestions,
    list_groups,
    remove_from_group,
    rename_group,
)
from .contacts import (
    ContactInfo,
    contact_suggestions,
    delete_contact,
    get_contact,
    list_contacts,
    remember_recipients,
    save_contact,
)
from .conversations import Conversation, ConversationPage, conversation_page, conversation_uids
from .credentials import (
    DOORS,
    AppPasswordInfo,
    NewAppPassword,
    create_app_password,
    list_app_passwords,
    revoke_app_password,
)
from .delivery import deliver, return_path
from .dkim import DkimKeyInfo, active_dkim_key, generate_dkim_key, list_dkim_keys
from .dmarc import (
    DMARC_VERDICT_KEEP_DAYS,
    DmarcSender,
    DmarcSummary,
    DmarcVerdictRow,
    admin_dmarc_senders,
    dmarc_verdicts,
    forget_dmarc_verdicts,
    record_dmarc_verdict,
    take_dmarc_report,
)
from .drafts import record_sent, save_draft
from .errors import (
    AlreadyExists,
    AppPasswordRequired,
    InvalidInput,
    InvalidScript,
    LimitExceeded,
    LoginBlocked,
    LoginFailed,
    MaildropLocked,
    NoSuchAccount,
    NoSuchAlias,
    NoSuchDomain,
    NoSuchFolder,
    NoSuchScript,
    NotFound,
    NotPermitted,
    OverQuota,
    RejectedByFilter,
    ScriptIsActive,
    ScriptQuotaExceeded,
    SendingLimited,
    StoreError,
    TooBigForQuota,
    TooManySessions,
    Unavailable,
)
from .events import METADATA, SERVER, SIGN_OUT, publish, subscribe
from .flags import set_flags
from .folders import (
    all_folder_status,
    claim_recent,
    create_folder,
    delete_folder,
    folder_status,
    list_folders,
    normalize_name,
    rename_folder,
    select_folder,
)
from .folders import subscribe as subscribe_folder
from .imap import (
    SearchPage,
    SearchStats,
    SortRow,
    UidText,
    fetch_messages,
    folders_with_status,
    quota_root,
    search_stats,
    search_uid_text,
    search_uids,
    sort_rows,
    thread_rows,
)
from .imap_lines import LINE_ITEMS, FetchLines, fetch_lines, fetch_lines_supported
from .inbound import RecipientVerdict, check_recipient, deliver_final, is_postmaster
from .learning import claim_lesson, forget_lesson
from .logins import (
    LoginBlock,
    admin_clear_login_block,
    admin_login_blocks,
    login,
    login_blocked,
    login_refusal,
    prune_login_failures,
    record_failure,
    record_login_failure,
    reset_login_throttle,
)
from .maintenance import (
    BlobCollection,
    check_quota,
    collect_blobs,
    maintained_account_ids,
    purge_old_messages,
    refresh_statistics,
    run_blob_collection,
)
from .messages import (
    append,
    changes_since,
    copy,
    delete_messages,
    expunge,
    message_data,
    move,
)
from .metadata import MAX_VALUE as METADATA_MAX_VALUE
from .metadata import MetadataTooBig, MetadataTooMany, get_metadata, metadata_digests, set_metadata
from .mtasts import (
    MTA_STS_MODES,
    CachedStsPolicy,
    PublishedStsPolicy,
    cached_sts_policy,
    published_sts_policy,
    save_sts_policy,
)
from .outbound import (
    AttemptResult,
    OutboundJob,
    OutboundRecipientInfo,
    OutcomeSummary,
    claim_outbound,
    outbound_counts,
    outbound_recipients,
    purge_finished_outbound,
    record_outcome,
    report_delivered,
)
from .passkeys import (
    Ceremony,
    PasskeyInfo,
    RelyingParty,
    add_passkey,
    check_passkey,
    list_passkeys,
    passkey_authentication,
    passkey_discovery,
    passkey_login,
    passkey_registration,
    remove_passkey,
)
from .placement import Placer
from .pop import (
    acquire_maildrop_lock,
    close_maildrop,
    maildrop,
    open_maildrop,
    pop_message,
    pop_messages,
    release_maildrop_lock,
    renew_maildrop_lock,
    uid_ranges,
)
from .preferences import Preferences, get_preferences, save_preferences
from .rates import next_window, postpone_outbound, take_relay_slot
from .remote_images import (
    SenderImages,
    allow_sender_images,
    forget_sender_images,
    image_senders,
    sender_images,
)
from .senders import may_send_as, unowned_authors
from .sending import check_sending, record_sending, reset_sending_counts
from .sessions import close_session, open_session, reset_session_counts
from .sieve_scripts import (
    ScriptInfo,
    activate_script,
    active_script,
    admin_domain_scripts,
    admin_set_domain_script,
    check_script,
    delete_script,
    domain_scripts,
    get_script,
    have_space,
    list_scripts,
    put_script,
    rename_script,
)
from .spam import Rejection, SpamPolicy, SpamSettings, record_spam, save_spam_allow_list, spam_allow_list, spam_policy
from .subscriptions import lost_subscriptions
from .tlsrpt import TLS_OUTCOME_KEEP_DAYS, TlsOutcomeRow, forget_tls_outcomes, record_tls_outcome, tls_outcomes
from .tlsrpt_received import (
    RECEIVED_KEEP_DAYS,
    ReceivedTlsReport,
    admin_tls_reports,
    forget_received_tls_reports,
    record_received_tls_report,
)
from .transfer import (
    StoredKey,
    TransferJobInfo,
    admin_create_transfer_job,
    append_many,
    claim_transfer_job,
    create_transfer_job,
    finish_transfer_job,
    folder_keys,
    list_transfer_jobs,
    record_transfer_progress,
    stage_blobs,
    transfer_job,
)
from .two_factor import (
    Enrolment,
    admin_reset_two_factor,
    begin_totp,
    check_second_factor,
    confirm_totp,
    disable_two_factor,
    must_enrol,
    recovery_codes_left,
    remove_two_factor,
    set_totp,
    totp_enabled,
    two_factor_enabled,
)
from .types import *  # noqa: F401,F403
from .urlauth import UrlAuthMailbox, urlauth_check, urlauth_reset, urlauth_sign
from .vanished import vanished_since
from .vcards import export_vcards, import_vcards
from .web_sessions import WebSessionInfo, end_sessions, end_web_session, list_web_sessions, note_web_session
from .webmail import (
    FolderRow,
    FolderState,
    MessageDetail,
    MessagePage,
    MessageSummary,
    correspondents,
    folder_rows,
    folder_state,
    message_bytes,
    message_page,
    open_message,
    search_messages,
)

__all__ = [n for n in dir() if not n.startswith("_")]
