from django.core.management.base import BaseCommand

from twostep.mail.liveness import late_after, worker_health


class Command(BaseCommand):
    help = (
        "Print when a worker last completed a pass; exit with status 1 when none did within "
        "TWOSTEP_WORKER_LATE_SECONDS (for a monitoring check)."
    )

    def handle(self, *args, **options):
        health = worker_health()
        if health.last_pass_at is None:
            self.stderr.write("No worker has completed a pass yet.")
            raise SystemExit(1)
        line = (
            f"Last pass {health.last_pass_at.isoformat(timespec='seconds')} "
            f"by {health.host} pid {health.pid}"
        )
        if health.late:
            limit = int(late_after().total_seconds())
            self.stderr.write(f"{line}: late, no pass within {limit} s.")
            raise SystemExit(1)
        self.stdout.write(line)
