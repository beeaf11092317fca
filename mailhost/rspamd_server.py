"""A private rspamd with the project's config, for `make run` and the tests.

Production runs Debian's rspamd service with deploy/rspamd/local.d copied to
/etc/rspamd/local.d (README, "Spam filtering"). Here the same files are used
unchanged from a run directory of our own: rspamd is started as a child
process with LOCAL_CONFDIR pointing there (its `--var`), local.d a link to
deploy/rspamd/local.d, and an override.d written for this instance: the
workers on the given loopback ports (the proxy worker off), its Redis, its
DNS server, its log and, for the tests only, rspamd's test patterns (the
GTUBE strings), greylisting of loopback clients and a short greylist delay.

    python -m mailhost.rspamd_server var/rspamd 11333 11334 [--redis URL] [--dns HOST:PORT]

runs one in the foreground (scripts/run-embedded.sh does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOCAL_D = ROOT / "deploy" / "rspamd" / "local.d"
SYSTEM_CONFIG = Path("/etc/rspamd/rspamd.conf")
# Compiled Hyperscan databases take rspamd a minute to build on first start;
# kept between runs (they are keyed by the rules they were built from).
HS_CACHE = Path(os.environ.get("MAIL_RSPAMD_HS_CACHE", "/tmp/mailhost-rspamd-hs-cache"))


def binary() -> str | None:
    """rspamd's path, or None when it is not installed (then there is no scanning)."""
    found = shutil.which("rspamd") or ("/usr/bin/rspamd" if Path("/usr/bin/rspamd").exists() else None)
    return found if found and SYSTEM_CONFIG.exists() else None


@dataclass(frozen=True)
class Instance:
    """One private rspamd: where it lives and what it listens on."""

    directory: Path
    normal_port: int
    controller_port: int
    password: str = "mailhost"
    redis_url: str = ""  # redis://host:port/db; empty: no greylisting, no Bayes
    nameservers: tuple[str, ...] = ()  # host:port; empty: the system's resolver
    test_mode: bool = False
    greylist_delay: str = "2s"  # test mode only
    extra: dict[str, str] = field(default_factory=dict)  # more override.d files (tests)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.normal_port}"

    @property
    def controller_url(self) -> str:
        return f"http://127.0.0.1:{self.controller_port}"


def _redis_lines(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    db = (parts.path or "/0").strip("/") or "0"
    password = f'password = "{parts.password}";\n' if parts.password else ""
    return f'servers = "{parts.hostname or "127.0.0.1"}:{parts.port or 6379}";\ndb = "{db}";\n{password}'


def write_config(instance: Instance) -> None:
    """The run directory: local.d linked to the project's, override.d for this instance."""
    base = instance.directory
    (base / "db").mkdir(parents=True, exist_ok=True)
    HS_CACHE.mkdir(parents=True, exist_ok=True)
    link = base / "local.d"
    if not link.is_symlink():
        link.symlink_to(LOCAL_D, target_is_directory=True)
    override = base / "override.d"
    override.mkdir(exist_ok=True)
    dns = ", ".join(f'"{ns}"' for ns in instance.nameservers)
    files = {
        "worker-normal.inc": f'bind_socket = "127.0.0.1:{instance.normal_port}";\ncount = 1;\n',
        "worker-controller.inc": f'bind_socket = "127.0.0.1:{instance.controller_port}";\n'
        f'password = "{instance.password}";\nenable_password = "{instance.password}";\n',
        "worker-proxy.inc": "enabled = false;\n",
        "logging.inc": f'type = "file";\nfilename = "{base / "rspamd.log"}";\nlevel = "warning";\n',
        "options.inc": (
            f'hs_cache_dir = "{HS_CACHE}/";\n'
            + (f"dns {{ nameserver = [{dns}]; }}\n" if dns else "")
            + ("enable_test_patterns = true;\n" if instance.test_mode else "")
        ),
        "redis.conf": _redis_lines(instance.redis_url),
        "greylist.conf": (f"timeout = {instance.greylist_delay};\ncheck_local = true;\n" if instance.test_mode else "")
        + ("" if instance.redis_url else "enabled = false;\n"),
        **instance.extra,
    }
    for name, text in files.items():
        (override / name).write_text(text)


def command(instance: Instance, rspamd: str) -> list[str]:
    base = instance.directory
    args = [
        rspamd,
        "-f",
        "-c",
        str(SYSTEM_CONFIG),
        "-p",
        str(base / "rspamd.pid"),
        "--var",
        f"LOCAL_CONFDIR={base}",
        "--var",
        f"DBDIR={base / 'db'}",
        "--var",
        f"RUNDIR={base}",
        "--var",
        f"LOGDIR={base}",
    ]
    if os.geteuid() == 0:
        args.append("-i")  # root in a container: run the workers as root rather than refuse
    return args


def ready(instance: Instance) -> bool:
    try:
        with urllib.request.urlopen(f"{instance.url}/ping", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


def start(instance: Instance, *, wait: float = 180) -> subprocess.Popen:
    """Write the config, start rspamd and wait until its normal worker answers."""
    rspamd = binary()
    if rspamd is None:
        raise RuntimeError("rspamd is not installed")
    write_config(instance)
    log = open(instance.directory / "rspamd.out", "ab")
    proc = subprocess.Popen(command(instance, rspamd), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + wait
    while not ready(instance):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            tail = (instance.directory / "rspamd.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"rspamd did not start: {tail}")
        time.sleep(0.2)
    return proc


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to rspamd's main process (it stops its workers), then wait."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("normal_port", type=int)
    parser.add_argument("controller_port", type=int)
    parser.add_argument("--password", default="mailhost")
    parser.add_argument("--redis", default="")
    parser.add_argument("--dns", action="append", default=[])
    options = parser.parse_args()
    instance = Instance(
        options.directory.resolve(),
        options.normal_port,
        options.controller_port,
        options.password,
        options.redis,
        tuple(options.dns),
    )
    proc = start(instance)
    # Passed on: rspamd stops its workers and exits, and wait() below returns.
    signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
    try:
        proc.wait()
    except KeyboardInterrupt:
        stop(proc)


if __name__ == "__main__":
    main()
