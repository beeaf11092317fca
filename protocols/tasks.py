"""Celery's autodiscover_tasks() imports `<app>.tasks` of every installed app:
this module is how the relay's tasks (protocols/relay/tasks.py) get registered."""
from protocols.relay.tasks import relay_message, sweep  # noqa: F401
