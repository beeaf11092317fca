from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = "Generate a DKIM signing key for a domain and print the DNS TXT record to publish."

    def add_arguments(self, parser):
        parser.add_argument("domain")
        parser.add_argument("--selector", default="mail")
        parser.add_argument(
            "--algorithm",
            choices=["rsa", "ed25519"],
            default="rsa",
            help="rsa (2048 bits, default) or ed25519 (RFC 8463)",
        )
        parser.add_argument("--replace", action="store_true", help="replace a key with the same selector")

    def handle(self, domain, selector="mail", algorithm="rsa", replace=False, **options):
        key = store.generate_dkim_key(domain, selector=selector, algorithm=algorithm, replace=replace)
        self.stdout.write(f"{key.dns_name}. IN TXT {_quoted(key.dns_txt)}")


def _quoted(txt: str) -> str:
    """A TXT value as zone-file strings of at most 255 octets each (RFC 1035 3.3.14)."""
    return " ".join(f'"{txt[i : i + 255]}"' for i in range(0, len(txt), 255))
