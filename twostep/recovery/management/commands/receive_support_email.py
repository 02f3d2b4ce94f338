import sys

from django.core.management.base import BaseCommand

from twostep.recovery.inbound import MAX_MESSAGE_BYTES, receive


class Command(BaseCommand):
    help = (
        "Read one RFC 5322 message on standard input (an MTA pipe for the support address) "
        "and record it as a recovery request for the worker. Exits 0 even for a rejected "
        "message: it is kept."
    )

    def handle(self, *args, **options):
        raw = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
        request = receive(raw)
        self.stdout.write(f"request #{request.pk}: {request.outcome}")
