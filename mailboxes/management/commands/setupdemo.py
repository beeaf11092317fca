import secrets

from mailboxes import store
from mailboxes.management.base import StoreCommand

DOMAIN = "example.test"


class Command(StoreCommand):
    help = "Create the demo domain example.test with a demo account and an admin (passwords printed once)."

    def handle(self, **options):
        if any(d.name == DOMAIN for d in store.list_domains()):
            self.stdout.write(
                f"demo domain {DOMAIN} exists (passwords were printed when it was made; "
                "change them with: manage.py setpassword ADDRESS)"
            )
            return
        store.create_domain(DOMAIN)
        for local, superuser in (("demo", False), ("admin", True)):
            password = secrets.token_urlsafe(9)
            store.create_account(f"{local}@{DOMAIN}", password, superuser=superuser)
            self.stdout.write(
                f"created {local}@{DOMAIN}{' (superuser)' if superuser else ''} with password: {password}"
            )
        store.create_alias(f"postmaster@{DOMAIN}", [f"admin@{DOMAIN}"])
