"""The Celery app: outbound relay and quota jobs (Redis broker in production)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailhost.settings")

app = Celery("mailhost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
