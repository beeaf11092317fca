"""Web pages for moving mail, mounted under the webmail's settings.

- download: the signed-in account's mail as a zip of mbox files, streamed
  as it is written (no copy of the mailbox in memory or on disk);
- imports: start an IMAP import as a Celery job and list recent ones. A user
  imports into their own account; a superuser or domain admin may name an
  account they may change (`account` field, or ?account=ADDRESS). A server
  the import may not reach (loopback, private, ours: destination.py) is
  refused here already, in the same words as one that does not answer;
- import status: a job's progress as a page that refreshes itself (no
  script) or, with ?format=json, as JSON.

The remote password goes from the form into the job's row (encrypted) and
nowhere else: not the URL, not a log, not the Celery message.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_post_parameters

from mailboxes import store

from . import destination
from .exporter import zip_stream
from .imapsource import ImapUrl
from .source import SourceError

View = Callable[..., HttpResponse]
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"


def signed_in(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            response = view(request, *args, **kwargs)
        except store.NotFound:
            raise Http404("no such job") from None
        except store.Unavailable:
            response = HttpResponse(
                "The mail store is unavailable; try again shortly.", status=503, content_type="text/plain"
            )
        response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Cache-Control", "private, no-store")
        response["X-Content-Type-Options"] = "nosniff"
        return response

    return wrapper


@signed_in
def download(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    name = f"mail-{request.user.address}-{date.today().isoformat()}.zip"  # type: ignore[union-attr]
    if request.method == "HEAD":  # not worth reading the whole mailbox for
        response: HttpResponse | StreamingHttpResponse = HttpResponse(content_type="application/zip")
    else:
        response = StreamingHttpResponse(zip_stream(request.user.pk), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _create_job(
    request: HttpRequest, address: str, url: ImapUrl, password: str, options: dict[str, object]
) -> store.TransferJobInfo:
    """An import into one's own account, or into one the signed-in administrator may change."""
    if not address or address.lower() == request.user.address:  # type: ignore[union-attr]
        return store.create_transfer_job(
            request.user.pk, str(url), password, started_by_id=request.user.pk, options=options
        )
    actor = store.admin_actor(request.user.pk)
    if actor is None:
        raise store.NotPermitted("you may import only into your own account")
    account = store.get_account(address)
    return store.admin_create_transfer_job(actor, account.id, str(url), password, options=options)


def _start(job_id: int) -> None:
    from .tasks import imap_import, run_job

    if settings.CELERY_TASK_ALWAYS_EAGER:  # embedded mode: no worker; do not hold the request
        threading.Thread(target=run_job, args=(job_id,), daemon=True, name=f"import-{job_id}").start()
    else:
        imap_import.delay(job_id)


@signed_in
@sensitive_post_parameters("password")
def imports(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = {
        "host": "",
        "port": "993",
        "security": "imaps",
        "username": "",
        "account": request.GET.get("account", ""),
        "verify": True,
    }
    error = ""
    if request.method == "POST":
        p = request.POST
        form = {
            "host": p.get("host", "").strip(),
            "port": p.get("port", "").strip() or "993",
            "security": p.get("security", "imaps"),
            "username": p.get("username", "").strip(),
            "account": p.get("account", "").strip(),
            "verify": p.get("no_verify") != "on",
        }
        password = p.get("password", "")
        if not form["host"] or not form["username"] or not password:
            error = gettext("Give the server, your user name there and its password.")
        elif not form["port"].isdigit() or not 0 < int(form["port"]) < 65536:
            error = gettext("The port is a number from 1 to 65535.")
        elif form["security"] not in ("imaps", "starttls"):
            error = gettext("Choose how to connect.")
        else:
            url = ImapUrl(form["security"] == "imaps", str(form["username"]), str(form["host"]), int(form["port"]))
            try:
                destination.resolve(url.host, url.port, public_only=True)  # the job checks again when it connects
                job = _create_job(request, str(form["account"]), url, password, {"verify": form["verify"]})
            except (SourceError, store.NotPermitted, store.NotFound, store.InvalidInput, store.LimitExceeded) as exc:
                error = str(exc)[:1].upper() + str(exc)[1:] + "."
            else:
                _start(job.id)
                return HttpResponseRedirect(_url(request, "import-status", job.id))
    jobs = [(job, _url(request, "import-status", job.id)) for job in store.list_transfer_jobs(request.user.pk)]
    return render(
        request,
        "transfer/imports.html",
        {"form": form, "error": error, "jobs": jobs, "download_url": _url(request, "download")},
        status=400 if error else 200,
    )


@signed_in
def import_status(request: HttpRequest, job_id: int) -> HttpResponse:
    viewer = None if request.user.is_superuser else request.user.pk  # type: ignore[union-attr]
    job = store.transfer_job(job_id, viewer)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "id": job.id,
                "account": job.account,
                "source": job.source,
                "state": job.state,
                "progress": job.progress,
                "error": job.error,
                "created": job.created.isoformat(),
                "finished": job.finished.isoformat() if job.finished else None,
            }
        )
    return render(
        request,
        "transfer/status.html",
        {
            "job": job,
            "p": job.progress,
            "summary": job.progress.get("summary_lines", []),
            "imports_url": _url(request, "imports"),
        },
    )


def _url(request: HttpRequest, name: str, *args: object) -> str:
    """A URL of this module wherever it is mounted (its namespace may be nested in the webmail's)."""
    namespace = request.resolver_match.namespace if request.resolver_match else "transfer"
    return reverse(f"{namespace}:{name}", args=args)
