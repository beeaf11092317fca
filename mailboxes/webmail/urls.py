"""The webmail at /mail/. Every URL naming a folder, a message or a part
checks that it is the signed-in account's (404 otherwise): the store is
asked with the account's id, and only ever finds that account's folders."""

from pathlib import Path

from django.urls import include, path, re_path
from django.views.static import serve

from . import auth, compose, contacts, filters, folders, messages, second_factor, security, settings

# The webmail's own CSS, script and icon, served by itself so that it looks and
# works the same under `make run`, gunicorn alone or behind a proxy (they are
# also in STATIC_ROOT after collectstatic, for a proxy that wants to serve them).
ASSETS = Path(__file__).resolve().parent.parent / "static" / "mail"

app_name = "webmail"

message = "m/<int:folder_id>/<int:uid>/"
urlpatterns = [
    path("", folders.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("login/code", second_factor.code_view, name="login_code"),  # the dashboard's too
    path("login/enrol", second_factor.enrol_view, name="login_enrol"),  # the dashboard's too
    path("login/passkey/options", second_factor.passkey_options, name="login_passkey_options"),
    path("login/passkey", second_factor.passkey_sign_in, name="login_passkey"),
    # a passkey on its own; the options are the dashboard's too
    path("login/passkey/discover/options", second_factor.passwordless_options, name="login_passwordless_options"),
    path("login/passkey/discover", auth.passkey_login_view, name="login_passwordless"),
    path("logout/", auth.logout_view, name="logout"),
    path("f/<int:folder_id>/", folders.folder_view, name="folder"),
    path("f/<int:folder_id>/state", folders.folder_state, name="state"),
    path("f/<int:folder_id>/act", folders.act, name="act"),
    path("folders/", folders.manage_folders, name="folders"),
    path("search/", folders.search_view, name="search"),
    path(message, messages.message_view, name="message"),
    path("c/<int:folder_id>/<int:uid>/", messages.conversation_view, name="conversation"),
    path(message + "frame", messages.frame_view, name="frame"),
    path(message + "part/<str:section>", messages.attachment_view, name="part"),
    path(message + "inline/<str:section>", messages.inline_view, name="inline"),
    path(message + "preview/<str:section>", messages.preview_view, name="preview"),
    path(message + "images", messages.always_images_view, name="always-images"),
    path(message + "raw", messages.raw_view, name="raw"),
    path("compose/", compose.compose_view, name="compose"),
    path("suggest", compose.suggest, name="suggest"),
    path("settings/", settings.settings_view, name="settings"),
    path("settings/password", settings.password_view, name="password"),
    path("settings/spam", settings.spam_allow_view, name="spam-allow"),
    path("settings/images", settings.image_senders_view, name="image-senders"),
    path("filters/", filters.filters_view, name="filters"),
    *(path("settings/security/" + route, view, name=name) for route, view, name in security.ROUTES),
    path("contacts/", contacts.contacts_view, name="contacts"),
    path("contacts/<int:contact_id>/", contacts.contact_view, name="contact"),
    path("contacts/import", contacts.import_view, name="contacts_import"),
    path("contacts/groups", contacts.groups_view, name="contact_groups"),
    path("contacts/groups/<int:group_id>/", contacts.group_view, name="contact_group"),
    path("contacts/export", contacts.export_view, name="contacts_export"),
    re_path(r"^assets/(?P<path>[a-z]+\.(?:css|js|svg))$", serve, {"document_root": ASSETS}, name="asset"),
    path("settings/transfer/", include("mailboxes.transfer.urls")),  # mail download, IMAP import jobs
]
