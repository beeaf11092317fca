#!/usr/bin/env bash
# Start the embedded default: the mail listeners and the web app, until Ctrl-C.
set -euo pipefail
PY=${PY:-.venv/bin/python}
WEB_PORT=${WEB_PORT:-8000}
mkdir -p var
$PY manage.py runmailserver --ready-file var/ready >var/mailserver.log 2>&1 &
mail_pid=$!
$PY -m gunicorn mailhost.wsgi --bind "0.0.0.0:$WEB_PORT" --workers 2 --threads 4 \
    --access-logfile var/access.log --error-logfile var/web.log &
web_pid=$!
trap 'kill $mail_pid $web_pid 2>/dev/null; wait 2>/dev/null; exit 0' INT TERM EXIT
for _ in $(seq 100); do [ -s var/ready ] && break; kill -0 $mail_pid 2>/dev/null || break; sleep 0.1; done
if ! kill -0 $mail_pid 2>/dev/null; then cat var/mailserver.log; exit 1; fi
echo
echo "Mailhost is running (Ctrl-C stops it):"
echo "  webmail    http://localhost:$WEB_PORT/mail/"
echo "  dashboard  http://localhost:$WEB_PORT/manage/"
sed 's/^/  /' var/ready
echo "  logs       var/mailserver.log, var/web.log"
wait
