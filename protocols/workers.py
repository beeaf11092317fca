"""runmailserver --workers N: N worker processes sharing one set of listening sockets.

One worker is one asyncio event loop, so one core (Python's GIL). To use
every core of a machine without a load balancer in front, the supervisor
binds every listening socket once, then forks N workers that all accept on
them (the kernel hands each new connection to one of them), as pre-fork web
servers do. Workers are stateless (DESIGN.md): the maildrop locks, IDLE
pushes (Redis), login throttling and the outbound queue already work across
processes, so N workers behave as one server.

The supervisor does no mail work itself. It forwards SIGTERM/SIGINT (each
worker says goodbye to its sessions and exits) and SIGHUP (each worker
reloads its TLS certificate), and starts a new worker when one dies, unless
workers keep dying at once (then it stops: a broken configuration must not
loop forever).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable

log = logging.getLogger("protocols.workers")

# port -> the listening socket the supervisor bound; a worker's listeners use
# it instead of binding (see listen_args).
_prebound: dict[int, socket.socket] = {}
QUICK_DEATHS = 5  # this many deaths, each within RESTART_WINDOW of its start, and we give up
RESTART_WINDOW = 10.0  # seconds


def listen_args(host: str, port: int) -> dict:
    """loop.create_server()/asyncio.start_server() arguments for a listener:
    the supervisor's socket for this port if there is one, else host and port."""
    sock = _prebound.get(port)
    return {"sock": sock} if sock is not None else {"host": host, "port": port}


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket as asyncio would make it (SO_REUSEADDR,
    non-blocking, and its protocol named IPPROTO_TCP: the sockets accepted
    from it inherit that, and asyncio turns Nagle's algorithm off (TCP_NODELAY)
    only on a socket whose protocol says TCP. With protocol 0, as
    socket.create_server makes it, every response written in more than one
    piece waited for the client's delayed ACK, some 40 ms)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    _prebound[port] = sock
    return sock


def supervise(count: int, worker: Callable[[int], None]) -> int:
    """Fork count workers (worker(index) runs in each and never returns) and
    look after them until SIGTERM/SIGINT; returns the exit status."""
    children: dict[int, tuple[int, float]] = {}  # pid -> (index, started)
    stopping = False
    deaths: list[float] = []

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            # Until its event loop handles SIGHUP (a TLS reload), a new worker
            # must not die of one (SIGHUP's default action).
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            status = 0
            try:
                worker(index)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                log.exception("worker %d failed", index)
                status = 1
            finally:
                logging.shutdown()
                os._exit(status)
        children[pid] = (index, time.monotonic())
        log.info("worker %d started (pid %d)", index, pid)

    def forward(sig: int, _frame: object) -> None:
        nonlocal stopping
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM if sig == signal.SIGINT else sig)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    for index in range(count):
        spawn(index)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # pragma: no cover (PEP 475 retries)
            continue
        index, started = children.pop(pid, (-1, 0.0))
        if index < 0 or stopping:
            continue
        log.warning(
            "worker %d (pid %d) exited with status %d; starting another", index, pid, os.waitstatus_to_exitcode(code)
        )
        now = time.monotonic()
        if now - started < RESTART_WINDOW:
            deaths.append(now)
        if len([d for d in deaths if now - d < RESTART_WINDOW * QUICK_DEATHS]) >= QUICK_DEATHS:
            log.error("workers keep dying at start; stopping")
            stopping, status = True, 1
            forward(signal.SIGTERM, None)
            continue
        spawn(index)
    return status
