import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from twostep.recovery.smtp import controller


class Command(BaseCommand):
    help = "Listen for email to the support address over SMTP and open recovery cases."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.TWOSTEP_INBOUND_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.TWOSTEP_INBOUND_SMTP_PORT)

    def handle(self, *args, host: str, port: int, **options):
        server = controller(host=host, port=port)
        server.start()
        self.stdout.write(f"Receiving mail for {settings.TWOSTEP_SUPPORT_EMAIL} on {host}:{port}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
