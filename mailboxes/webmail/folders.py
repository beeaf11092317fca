"""Folders and message lists: the list itself, its live state, actions on
selected messages, search, and creating, renaming and deleting folders."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mailboxes import store
from mailboxes.store import search as s
from mailboxes.templatetags.mail_i18n import folder_label

from .common import account_id, int_list, page, safe_next, store_error
from .render import short_name

PER_PAGE = 50
SORTS = {
    "date": gettext_lazy("Date"),
    "from": gettext_lazy("Sender"),
    "subject": gettext_lazy("Subject"),
    "size": gettext_lazy("Size"),
}
ACTIONS = {
    "read": ("add", "\\Seen"),
    "unread": ("remove", "\\Seen"),
    "flag": ("add", "\\Flagged"),
    "unflag": ("remove", "\\Flagged"),
}


def moved_to(count: int, dest: store.FolderRow) -> str:
    return _("Moved %(n)d to %(folder)s.") % {"n": count, "folder": folder_label(dest)}


def sidebar(request: HttpRequest) -> list[store.FolderRow]:
    return store.folder_rows(account_id(request))


def _folder(rows: list[store.FolderRow], folder_id: int) -> store.FolderRow:
    for row in rows:
        if row.id == folder_id:
            return row
    raise store.NoSuchFolder("no such folder")


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and len(value) < 10 else default


def list_rows(items: list[store.MessageSummary], show_to: bool, names: dict[int, str] | None = None) -> list[dict]:
    return [
        {
            "m": m,
            "who": short_name(m.to_text if show_to else m.from_text) or "(nobody)",
            "seen": "\\Seen" in m.flags,
            "flagged": "\\Flagged" in m.flags,
            "answered": "\\Answered" in m.flags,
            "folder_name": (names or {}).get(m.folder_id, ""),
        }
        for m in items
    ]


def _conversation_rows(items: list[store.Conversation], show_to: bool) -> list[dict]:
    """List rows for conversations: the newest message's row, with the count,
    the participants, and every UID for the checkbox."""
    out = []
    for c, row in zip(items, list_rows([c.latest for c in items], show_to), strict=True):
        row.update(seen=c.unseen == 0, flagged=c.flagged, count=c.count, uids=",".join(map(str, c.uids)))
        if c.count > 1:
            row["who"] = ", ".join(short_name(p) for p in c.participants)
            row["href"] = reverse("webmail:conversation", args=[c.latest.folder_id, c.latest.uid])
        out.append(row)
    return out


@page
def home(request: HttpRequest) -> HttpResponse:
    inbox = next(r for r in sidebar(request) if r.name == "INBOX")
    return HttpResponseRedirect(reverse("webmail:folder", args=[inbox.id]))


@page
def folder_view(request: HttpRequest, folder_id: int) -> HttpResponse:
    rows = sidebar(request)
    folder = _folder(rows, folder_id)
    sort = request.GET.get("sort", "date")
    sort = sort if sort in SORTS else "date"
    reverse_order = request.GET.get("dir", "desc") != "asc"
    me, number = account_id(request), _int(request.GET.get("page"), 1)
    show_to = folder.special_use in ("\\Sent", "\\Drafts")
    # Conversations when the account wants them and the list is by date, newest first.
    threaded = sort == "date" and reverse_order and store.get_preferences(me).conversations
    if threaded:
        result = store.conversation_page(me, folder_id, page=number, per_page=PER_PAGE)
        items = _conversation_rows(result.items, show_to)
    else:
        result = store.message_page(me, folder_id, sort=sort, reverse=reverse_order, page=number, per_page=PER_PAGE)
        items = list_rows(result.items, show_to)
    return render(
        request,
        "mail/list.html",
        {
            "folders": rows,
            "folder": folder,
            "result": result,
            "rows": items,
            "threaded": threaded,
            "sort": sort,
            "dir": "desc" if reverse_order else "asc",
            "sorts": SORTS,
            "show_to": show_to,
            "is_trash": folder.special_use == "\\Trash",
            "is_drafts": folder.special_use == "\\Drafts",
            "is_junk": folder.special_use == "\\Junk",
            "title": folder_label(folder),
        },
    )


@page
def folder_state(request: HttpRequest, folder_id: int) -> HttpResponse:
    """What the list polls: it reloads itself when highestmodseq moves."""
    state = store.folder_state(account_id(request), folder_id)
    return JsonResponse({"folder": state.id, "modseq": state.highestmodseq, "uidnext": state.uidnext})


def _wants_json(request: HttpRequest) -> bool:
    """The list's script moving or deleting in place (drag and drop, the
    toolbar) asks for JSON; a plain form post gets a redirect."""
    return request.headers.get("Accept", "").startswith("application/json")


def _moved(request: HttpRequest, moved: store.CopyResult, dest: store.FolderRow) -> HttpResponse | None:
    """Report a move: JSON with what Undo needs (the moved messages' new UIDs,
    for the reverse move), else a message for the next page."""
    text = moved_to(len(moved.source_uids), dest)
    if _wants_json(request):
        return JsonResponse({"text": text, "folder": dest.id, "uids": moved.dest_uids})
    flash.success(request, text)
    return None


@page
@require_POST
def act(request: HttpRequest, folder_id: int) -> HttpResponse:
    """Mark read/unread, flag, move or delete the selected messages."""
    me = account_id(request)
    back = safe_next(request, reverse("webmail:folder", args=[folder_id]))
    ranges = store.uid_ranges(int_list(request.POST.getlist("uid")))
    action = request.POST.get("action", "")
    if not ranges:
        flash.info(request, _("Select one or more messages first."))
        return HttpResponseRedirect(back)
    rows = sidebar(request)
    folder = _folder(rows, folder_id)
    try:
        if action in ACTIONS:
            op, flag = ACTIONS[action]
            store.set_flags(me, folder_id, ranges, op, [flag])
        elif action == "move":
            dest = _folder(rows, _int(request.POST.get("dest"), 0))
            if dest.id != folder_id:
                done = _moved(request, store.move(me, folder_id, ranges, dest.name), dest)
                if done:
                    return done
        elif action in ("spam", "notspam"):
            # "Spam" files into Junk, "Not spam" back into INBOX: the store's
            # move teaches the spam filter either way (store/learning.py).
            use = "\\Junk" if action == "spam" else ""
            dest = next((r for r in rows if (r.special_use == use if use else r.name == "INBOX")), None)
            if dest is not None and dest.id != folder_id:
                done = _moved(request, store.move(me, folder_id, ranges, dest.name), dest)
                if done:
                    return done
        elif action == "delete":
            trash = next((r for r in rows if r.special_use == "\\Trash"), None)
            if trash is None or folder.id == trash.id:
                gone = store.delete_messages(me, folder_id, ranges)
                if _wants_json(request):
                    return JsonResponse({"text": _("Deleted %(n)d for good.") % {"n": len(gone)}})
                flash.success(request, _("Deleted %(n)d for good.") % {"n": len(gone)})
            else:
                done = _moved(request, store.move(me, folder_id, ranges, trash.name), trash)
                if done:
                    return done
        else:
            flash.error(request, _("Unknown action."))
    except store.StoreError as exc:
        if isinstance(exc, store.NotFound):
            raise
        store_error(request, exc, _("That action"))
    return HttpResponseRedirect(back)


# --- search -----------------------------------------------------------------


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def criterion(params: dict[str, str]) -> s.Criterion | None:
    """The search form as a store criterion; None when the form is empty."""
    items: list[s.Criterion] = []
    q = params.get("q", "").strip()
    if q:
        items.append(
            s.Or(s.Header("subject", q), s.Or(s.Header("from", q), s.Or(s.Header("to", q), s.Text(q, "body"))))
        )
    for name, field in (("from", "from"), ("subject", "subject")):
        if params.get(name, "").strip():
            items.append(s.Header(field, params[name].strip()))
    if params.get("to", "").strip():
        items.append(s.Or(s.Header("to", params["to"].strip()), s.Header("cc", params["to"].strip())))
    if params.get("body", "").strip():
        items.append(s.Text(params["body"].strip(), "body"))
    since, before = _date(params.get("since", "")), _date(params.get("before", ""))
    if since:
        items.append(s.Date("internal", "since", since))
    if before:
        items.append(s.Date("internal", "before", before))
    return s.And(tuple(items)) if items else None


@page
def search_view(request: HttpRequest) -> HttpResponse:
    rows = sidebar(request)
    params = {
        k: request.GET.get(k, "")[:200] for k in ("q", "from", "to", "subject", "body", "since", "before", "folder")
    }
    folder_id = _int(params["folder"], 0) or None
    if folder_id is not None:
        _folder(rows, folder_id)
    query = criterion(params)
    result = None
    if query is not None:
        result = store.search_messages(
            account_id(request), query, folder_id=folder_id, page=_int(request.GET.get("page"), 1), per_page=PER_PAGE
        )
    names = {r.id: r.name for r in rows}
    return render(
        request,
        "mail/search.html",
        {
            "folders": rows,
            "params": params,
            "result": result,
            "title": _("Search"),
            "rows": list_rows(result.items, False, names) if result else [],
            "pager_query": urlencode({k: v for k, v in params.items() if v}) + "&",
            "advanced": any(params[k] for k in ("from", "to", "subject", "body", "since", "before")),
        },
    )


# --- managing folders ---------------------------------------------------------


@page
def manage_folders(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    me = account_id(request)
    if request.method == "POST":
        rows = sidebar(request)
        op = request.POST.get("op", "")
        try:
            if op == "create":
                parent = request.POST.get("parent", "")
                name = request.POST.get("name", "").strip()
                full = f"{_folder(rows, int(parent)).name}/{name}" if parent.isdigit() else name
                store.create_folder(me, full)
                flash.success(request, _("Created %(name)s.") % {"name": full})
            elif op in ("rename", "delete"):
                folder = _folder(rows, _int(request.POST.get("folder"), 0))
                if folder.name == "INBOX" or folder.special_use:
                    flash.error(
                        request, _("%(name)s is a special folder and stays as it is.") % {"name": folder_label(folder)}
                    )
                elif op == "rename":
                    store.rename_folder(me, folder.name, request.POST.get("name", "").strip())
                    flash.success(request, _("Renamed %(name)s.") % {"name": folder.name})
                else:
                    store.delete_folder(me, folder.name)
                    flash.success(request, _("Deleted %(name)s and its messages.") % {"name": folder.name})
        except store.StoreError as exc:
            if isinstance(exc, store.NotFound):
                raise
            store_error(request, exc, _("The folder change"))
        return HttpResponseRedirect(reverse("webmail:folders"))
    rows = sidebar(request)
    return render(
        request,
        "mail/folders.html",
        {
            "folders": rows,
            "title": _("Folders"),
            "editable": [r for r in rows if r.name != "INBOX" and not r.special_use],
        },
    )
