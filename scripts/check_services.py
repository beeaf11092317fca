"""Fail at once, saying which and how to start it, if PostgreSQL or Redis is down."""

import os
import sys
from urllib.parse import urlparse

problems = []
db = urlparse(os.environ["DATABASE_URL"])
try:
    import psycopg

    psycopg.connect(
        host=db.hostname,
        port=db.port or 5432,
        user=db.username or "postgres",
        password=db.password,
        dbname="postgres",
        connect_timeout=5,
    ).close()
except Exception as exc:
    problems.append(
        f"PostgreSQL at {db.hostname}:{db.port or 5432} is unreachable ({exc}).\n"
        "  Start it, e.g.: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    )
redis_url = os.environ["REDIS_URL"]
try:
    import redis

    redis.Redis.from_url(redis_url, socket_timeout=5).ping()
except Exception as exc:
    problems.append(
        f"Redis at {redis_url} is unreachable ({exc}).\n"
        "  Start it, e.g.: redis-server --daemonize yes --bind 127.0.0.1 --port 6379"
    )
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
