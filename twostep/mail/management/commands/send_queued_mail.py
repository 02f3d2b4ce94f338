import time

from django.core.management.base import BaseCommand

from twostep.mail.services import deliver_due


class Command(BaseCommand):
    help = "Deliver queued emails; with --loop keep doing it until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep polling the queue")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls")

    def handle(self, *args, loop: bool, interval: float, **options):
        while True:
            sent = deliver_due()
            if sent:
                self.stdout.write(f"sent {sent} email(s)")
            if not loop:
                return
            time.sleep(interval)
