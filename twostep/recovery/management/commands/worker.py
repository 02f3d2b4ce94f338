import time

from django.core.management.base import BaseCommand

from twostep.mail.services import deliver_due
from twostep.recovery.services import perform_due_resets


class Command(BaseCommand):
    help = "Background work: deliver queued email and carry out approved 2FA resets when due."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep working until stopped")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between rounds")

    def handle(self, *args, loop: bool, interval: float, **options):
        while True:
            resets = perform_due_resets()
            sent = deliver_due()
            if resets or sent:
                self.stdout.write(f"resets done: {resets}, emails sent: {sent}")
            if not loop:
                return
            time.sleep(interval)
