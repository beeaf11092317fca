"""One relay run: claim due recipients, sign, group by destination, talk
SMTP (one connection per destination for all its recipients and messages),
and record each outcome through the store."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import dns.resolver
from django.conf import settings

from mailboxes import store
from mailboxes.dns import DnsTemporary, default_resolver

from ..smtp import dsn
from . import arc, dane, dkimsign, mtasts, mx, plan
from .client import ClientConfig, ConnectionLost, NotOffered, Session, TlsFailure

log = logging.getLogger("protocols.relay")
SMARTHOST = "*"  # the destination key when everything goes through the smarthost


Item = tuple[store.OutboundJob, bytes, list[tuple[int, str]]]  # a message (signed) and its recipients there


@dataclass
class Work:
    """What is still to be sent to one destination: (message, its recipients there)."""

    items: list[Item] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    targets: list[plan.Target]
    config: ClientConfig
    sts: mtasts.Policy | None = None  # the destination's MTA-STS policy (enforce or testing)
    per_target: dict[plan.Target, ClientConfig] = field(default_factory=dict)  # DANE hosts' own configs


class NoAcceptableHost(Exception):
    """The destination's policy names none of its MX hosts (RFC 8461 5: defer)."""


def client_config(*, smarthost: bool) -> ClientConfig:
    base = ClientConfig(helo_name=settings.MAIL_HOSTNAME, timeout=float(settings.MAIL_RELAY_TIMEOUT))
    if not smarthost:
        return base
    mode = settings.MAIL_RELAY_SMARTHOST_TLS
    return ClientConfig(
        helo_name=base.helo_name,
        timeout=base.timeout,
        starttls=mode == "starttls",
        require_tls=mode != "none",
        implicit_tls=mode == "tls",
        username=settings.MAIL_RELAY_SMARTHOST_USER,
        password=settings.MAIL_RELAY_SMARTHOST_PASSWORD,
        verify_tls=True,
        ca_file=settings.MAIL_RELAY_SMARTHOST_CA,
    )


def route(destination: str, resolver: dns.resolver.Resolver) -> Route:
    """Where to send mail for destination: the smarthost, MAIL_RELAY_MX_OVERRIDE
    (tests and staging), or the DNS. Raises mx.Undeliverable or DnsTemporary."""
    if destination == SMARTHOST:
        host, port = plan.parse_hostport(settings.MAIL_RELAY_SMARTHOST, 587)
        return Route([plan.Target(host, host, port)], client_config(smarthost=True))
    override = plan.parse_mx_override(settings.MAIL_RELAY_MX_OVERRIDE).get(destination)
    secure = dane.dnssec_resolver(resolver)
    if override:
        targets, mx_secure = override, _override_mx_secure(destination, secure)
    else:
        answer = mx.mx_lookup(destination, secure)
        targets, mx_secure = mx.targets(destination, resolver, hosts=answer.hosts), answer.secure
    config = client_config(smarthost=False)
    per_target: dict[plan.Target, ClientConfig] = {}
    if mx_secure:  # RFC 7672 2.2.1: no DANE (and no TLSA lookup to fail) for an insecure MX RRset
        per_target, failed = _dane_configs(destination, targets, secure, config)
        targets = [t for t in targets if t not in failed]
        if not targets:
            raise DnsTemporary(f"the TLSA lookups for every mail host of {destination} failed")
    if per_target:  # DANE before MTA-STS (RFC 8461 2); hosts without TLSA stay opportunistic
        return Route(targets, config, None, per_target)
    sts = mtasts.policy_for(destination, resolver)
    if sts is None:
        return Route(targets, config)
    allowed = [t for t in targets if sts.allows(t.name)]
    if sts.mode == "testing":
        for target in targets:
            if target not in allowed:
                log.warning(
                    "relay: MTA-STS testing: %s is not an MX host the policy of %s names", target.name, destination
                )
        return Route(targets, dataclasses.replace(config, verify="pkix"), sts)
    if not allowed:
        raise NoAcceptableHost(f"the MTA-STS policy of {destination} names none of its MX hosts")
    return Route(allowed, dataclasses.replace(config, verify="pkix"), sts)


def relay_jobs(jobs: list[store.OutboundJob], resolver: dns.resolver.Resolver | None = None) -> int:
    """Deliver what was claimed; returns how many recipients were handled."""
    resolver = resolver or default_resolver()
    keys = dkimsign.cached()
    destinations: dict[str, Work] = {}
    handled = 0
    for job in jobs:
        signed = arc.seal(dkimsign.sign(plan.fold_long_lines(job.data), job.dkim_domain, keys), job.mail_from, keys)
        by_domain: dict[str, list[tuple[int, str]]] = {}
        for rid, address, domain in job.recipients:
            if not plan.safe_address(address) or not plan.safe_address(job.mail_from):
                _record(
                    job.message_id,
                    [store.AttemptResult(rid, "permanent", "5.1.3", plan.local_diagnostic("unusable address"))],
                )
                handled += 1
                continue
            key = SMARTHOST if settings.MAIL_RELAY_SMARTHOST else domain
            by_domain.setdefault(key, []).append((rid, address))
        for key, recipients in by_domain.items():
            destinations.setdefault(key, Work()).items.append((job, signed, recipients))
    for destination, work in destinations.items():
        handled += _deliver_destination(destination, work, resolver)
    return handled


def _deliver_destination(destination: str, work: Work, resolver: dns.resolver.Resolver) -> int:
    try:
        chosen = route(destination, resolver)
    except mx.Undeliverable as exc:
        return _finish_all(work, "permanent", exc.status, plan.local_diagnostic(str(exc)))
    except DnsTemporary as exc:
        return _finish_all(work, "temporary", "4.4.3", plan.local_diagnostic(str(exc)))
    except NoAcceptableHost as exc:
        return _finish_all(work, "temporary", "4.7.5", plan.local_diagnostic(str(exc)))
    except store.Unavailable:
        return _finish_all(work, "temporary", "4.3.0", plan.local_diagnostic("the mail store is unavailable"))
    except plan.PlanError as exc:
        log.error("relay configuration: %s", exc)
        return _finish_all(work, "temporary", "4.3.5", plan.local_diagnostic("relay misconfigured"))
    # RFC 8689 5: "TLS-Required: No" asks that TLS policy failures be ignored
    # (unless the message also asked for REQUIRETLS): such mail gets its own connections.
    groups: tuple[list[Item], list[Item]] = ([], [])
    for item in work.items:
        groups[not item[0].require_tls and plan.tls_optional(item[1])].append(item)
    return sum(_deliver_items(destination, items, chosen, relaxed=bool(n)) for n, items in enumerate(groups) if items)


def _deliver_items(destination: str, items: list[Item], chosen: Route, *, relaxed: bool) -> int:
    pending = list(items)
    last_error = "no host could be reached"
    handled = 0
    throttled = False  # over the destination's rate (store/rates.py): the rest waits, no attempt counted
    for target in chosen.targets:
        if not pending:
            break
        if not store.take_relay_slot(destination, "connections"):
            throttled = True
            break
        try:
            session = _connect(destination, target, chosen, relaxed)
        except ConnectionLost as exc:
            last_error = f"{target.name}[{target.address}]:{target.port}: {exc}"
            log.info("relay: %s", last_error)
            continue
        try:
            while pending:
                if not store.take_relay_slot(destination, "messages"):
                    throttled = True
                    break
                job, data, recipients = pending[0]
                try:
                    result = session.send(
                        job.mail_from,
                        [a for _, a in recipients],
                        data,
                        dsn_mail=dsn.mail_params(dsn.MailDsn(job.dsn_ret, job.dsn_envid)),
                        dsn_rcpt=tuple(_rcpt_dsn(job, rid) for rid, _ in recipients),
                        require_tls=job.require_tls,
                        binary=job.binarymime,
                    )
                except ConnectionLost as exc:
                    last_error = f"{target.name}[{target.address}]:{target.port}: {exc}"
                    log.info("relay: %s", last_error)
                    break
                except NotOffered as exc:
                    pending.pop(0)
                    diagnostic = plan.local_diagnostic(f"{target.name}: {exc}")
                    handled += _record(
                        job.message_id,
                        [
                            store.AttemptResult(rid, "permanent", exc.status, diagnostic, target.name)
                            for rid, _ in recipients
                        ],
                    )
                    continue
                pending.pop(0)
                outcomes = []
                for rid, address in recipients:
                    reply = result.replies[address]
                    status, diagnostic = plan.smtp_diagnostic(reply.code, reply.text)
                    outcomes.append(
                        store.AttemptResult(
                            rid,
                            plan.outcome_of(reply.code),
                            status,
                            diagnostic,
                            target.name,
                            dsn_passed=result.dsn_passed,
                        )
                    )
                handled += _record(job.message_id, outcomes)
        finally:
            session.close()
        if throttled:
            break
    if throttled and pending:
        held = store.postpone_outbound(
            [rid for _, _, recipients in pending for rid, _ in recipients], store.next_window()
        )
        log.info("relay: %s: rate limit reached; %d recipient(s) wait for the next minute", destination, held)
        return handled + held
    for job, _, recipients in pending:
        handled += _record(
            job.message_id,
            [
                store.AttemptResult(rid, "temporary", "4.4.1", plan.local_diagnostic(last_error))
                for rid, _ in recipients
            ],
        )
    return handled


def _override_mx_secure(destination: str, secure: dns.resolver.Resolver) -> bool:
    """MAIL_RELAY_MX_OVERRIDE says where to connect, not whether DANE
    applies: that is still the DNS's word on the domain's MX RRset (a
    domain without one, or a failed lookup, is insecure)."""
    try:
        return mx.mx_lookup(destination, secure).secure
    except (mx.Undeliverable, DnsTemporary):
        return False


def _dane_configs(
    destination: str, targets: list[plan.Target], secure: dns.resolver.Resolver, config: ClientConfig
) -> tuple[dict[plan.Target, ClientConfig], list[plan.Target]]:
    """(the client config of each target with secure TLSA records (RFC 7672),
    the targets whose TLSA lookup failed: not to be tried now, 2.2.1).
    Only for a secure MX RRset; secure is a dane.dnssec_resolver."""
    found: dict[plan.Target, ClientConfig] = {}
    failed: list[plan.Target] = []
    for target in targets:
        try:
            tlsa = dane.lookup(target.name, target.port, secure)
        except DnsTemporary as exc:
            log.info("relay: %s: %s; the host is skipped", destination, exc)
            failed.append(target)
            continue
        if tlsa.applies:
            found[target] = dataclasses.replace(config, verify="dane", tlsa=tlsa.usable)
    return found, failed


def _connect(destination: str, target: plan.Target, chosen: Route, relaxed: bool = False) -> Session:
    """A session as the route's policy asks; under an MTA-STS policy in
    testing mode (RFC 8461 5: testing policies are reported, not applied),
    or for mail marked "TLS-Required: No" (relaxed, RFC 8689 5), a host that
    fails it is logged and used as without one."""
    config = chosen.per_target.get(target, chosen.config)
    try:
        session = Session(target, config)
    except TlsFailure as exc:
        _count_tls(destination, target, chosen, exc.result_type)
        if not relaxed and (chosen.sts is None or chosen.sts.mode != "testing"):
            raise
        log.warning(
            "relay: %s: %s would have been refused (%s): %s",
            "TLS-Required: No" if relaxed else "MTA-STS testing",
            destination,
            exc.result_type,
            exc,
        )
        return Session(target, dataclasses.replace(chosen.config, verify="none"))
    if session.tls:
        _count_tls(destination, target, chosen, "")
    return session


def _count_tls(destination: str, target: plan.Target, chosen: Route, result_type: str) -> None:
    """Count the negotiation for the domain's TLS report (RFC 8460 4.4);
    counting never stands in the way of delivering."""
    config = chosen.per_target.get(target)
    if config is not None:
        kind, strings = "tlsa", [f"{r.usage} {r.selector} {r.mtype} {r.data.hex()}" for r in config.tlsa]
    elif chosen.sts is not None:
        kind, strings = "sts", chosen.sts.lines()
    else:
        kind, strings = "no-policy-found", []
    try:
        store.record_tls_outcome(destination, kind, strings, target.name, target.address, result_type)
    except store.Unavailable:
        log.warning("relay: the TLS outcome for %s could not be counted", destination)


def _rcpt_dsn(job: store.OutboundJob, recipient_id: int) -> str:
    """NOTIFY/ORCPT as the sender gave them, for a next hop that offers DSN."""
    notify, orcpt = job.dsn.get(recipient_id, ("", ""))
    return dsn.rcpt_params(dsn.RcptDsn(tuple(notify.split(",")) if notify else (), orcpt))


def _finish_all(work: Work, outcome: str, status: str, diagnostic: str) -> int:
    return sum(
        _record(job.message_id, [store.AttemptResult(rid, outcome, status, diagnostic) for rid, _ in recipients])
        for job, _, recipients in work.items
    )


def _record(message_id: int, results: list[store.AttemptResult]) -> int:
    """Record outcomes; a database outage leaves the claim to lapse and be retried."""
    for attempt in range(3):
        try:
            summary = store.record_outcome(message_id, results)
        except store.Unavailable:
            if attempt == 2:
                log.warning("relay: could not record the outcome for message %s; it will be retried", message_id)
                return 0
            time.sleep(1 + attempt)
            continue
        notes = (" (DSN sent)" if summary.bounced else "") + (" (delay DSN sent)" if summary.delay_warned else "")
        log.info(
            "relay: message %s: %d sent, %d deferred, %d failed%s",
            message_id,
            summary.sent,
            summary.deferred,
            summary.failed,
            notes,
        )
        return len(results)
    return 0


def run(
    *,
    message_id: int | None = None,
    limit: int = 100,
    max_batches: int = 1,
    resolver: dns.resolver.Resolver | None = None,
) -> int:
    """Claim and deliver up to max_batches batches of due recipients. With a
    message_id, other due mail for the same domains rides along on the same
    connections (a backlog drains in a few sessions, not one per message)."""
    total = 0
    for _ in range(max_batches):
        jobs = store.claim_outbound(limit=limit, message_id=message_id)
        if message_id is not None and jobs:
            domains = sorted({domain for job in jobs for _, _, domain in job.recipients})
            jobs = _merge(jobs, store.claim_outbound(limit=limit, domains=domains))
        if not jobs:
            break
        total += relay_jobs(jobs, resolver)
    return total


def _merge(first: list[store.OutboundJob], more: list[store.OutboundJob]) -> list[store.OutboundJob]:
    """One job per message: recipients of a message claimed twice go together."""
    by_id: dict[int, store.OutboundJob] = {job.message_id: job for job in first}
    for job in more:
        if job.message_id in by_id:
            known = by_id[job.message_id]
            by_id[job.message_id] = dataclasses.replace(known, recipients=known.recipients + job.recipients)
        else:
            by_id[job.message_id] = job
    return list(by_id.values())
