#!/usr/bin/env bash
# Start the embedded default: the mail listeners and the web app, until Ctrl-C.
set -euo pipefail
PY=${PY:-.venv/bin/python}
WEB_PORT=${WEB_PORT:-8000}
mkdir -p var
# Spam filtering: an rspamd of our own with the project's config (docs/SPAM.md)
# when Debian's rspamd is installed and MAIL_RSPAMD_URL is not set already.
rspamd_pid=""
RSPAMD_PORT=${RSPAMD_PORT:-11333}
RSPAMD_CONTROLLER_PORT=${RSPAMD_CONTROLLER_PORT:-11334}
if [ -n "${MAIL_RSPAMD_URL:-}" ]; then
    spam_note="spam       scanned by $MAIL_RSPAMD_URL"
elif $PY -c "import sys; from mailhost import rspamd_server; sys.exit(rspamd_server.binary() is None)" 2>/dev/null; then
    echo "starting rspamd on 127.0.0.1:$RSPAMD_PORT (its first start compiles its rules: about a minute)"
    $PY -m mailhost.rspamd_server var/rspamd "$RSPAMD_PORT" "$RSPAMD_CONTROLLER_PORT" \
        --password "${MAIL_RSPAMD_PASSWORD:=mailhost}" >var/rspamd.log 2>&1 &
    rspamd_pid=$!
    for _ in $(seq 900); do
        $PY -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$RSPAMD_PORT/ping', timeout=1)" \
            2>/dev/null && break
        kill -0 $rspamd_pid 2>/dev/null || break
        sleep 0.2
    done
    export MAIL_RSPAMD_URL="http://127.0.0.1:$RSPAMD_PORT"
    export MAIL_RSPAMD_CONTROLLER_URL="http://127.0.0.1:$RSPAMD_CONTROLLER_PORT" MAIL_RSPAMD_PASSWORD
    spam_note="spam       rspamd $MAIL_RSPAMD_URL (no Redis here: no greylisting, no learning; logs var/rspamd/)"
else
    spam_note="spam       NOT scanned: rspamd is not installed (apt-get install rspamd)"
fi
$PY manage.py runmailserver --ready-file var/ready >var/mailserver.log 2>&1 &
mail_pid=$!
$PY -m gunicorn mailhost.wsgi --bind "0.0.0.0:$WEB_PORT" --workers 2 --threads 4 \
    --access-logfile var/access.log --error-logfile var/web.log &
web_pid=$!
trap 'kill $mail_pid $web_pid $rspamd_pid 2>/dev/null; wait 2>/dev/null; exit 0' INT TERM EXIT
for _ in $(seq 100); do [ -s var/ready ] && break; kill -0 $mail_pid 2>/dev/null || break; sleep 0.1; done
if ! kill -0 $mail_pid 2>/dev/null; then cat var/mailserver.log; exit 1; fi
echo
echo "Mailhost is running (Ctrl-C stops it):"
echo "  webmail    http://localhost:$WEB_PORT/mail/"
echo "  dashboard  http://localhost:$WEB_PORT/manage/"
sed 's/^/  /' var/ready
echo "  $spam_note"
echo "  logs       var/mailserver.log, var/web.log"
wait
