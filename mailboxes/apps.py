from django.apps import AppConfig


class MailboxesConfig(AppConfig):
    name = "mailboxes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
        from .signals import spam_filed
        from .tasks import on_spam_filed

        spam_filed.connect(on_spam_filed, dispatch_uid="mailboxes.spam.learn")
