"""The worker's heartbeat: each completed pass says so in the database, where any process
(the `worker_status` command, the support console) can tell whether a worker is alive."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import WorkerHeartbeat

FORGET_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class WorkerHealth:
    last_pass_at: datetime | None
    host: str = ""
    pid: int | None = None

    @property
    def late(self) -> bool:
        """No pass completed within TWOSTEP_WORKER_LATE_SECONDS (or none ever)."""
        if self.last_pass_at is None:
            return True
        return timezone.now() - self.last_pass_at > late_after()


def late_after() -> timedelta:
    return timedelta(seconds=settings.TWOSTEP_WORKER_LATE_SECONDS)


def record_worker_pass(*, host: str, pid: int, started_at: datetime) -> None:
    """Note that worker `host`:`pid` has just completed a pass. One UPDATE on the usual path."""
    now = timezone.now()
    if WorkerHeartbeat.objects.filter(host=host, pid=pid).update(last_pass_at=now):
        return
    WorkerHeartbeat.objects.filter(last_pass_at__lt=now - FORGET_AFTER).delete()
    WorkerHeartbeat.objects.create(host=host, pid=pid, started_at=started_at, last_pass_at=now)


def worker_health() -> WorkerHealth:
    """The most recent pass of any worker (last_pass_at None when no worker ever ran)."""
    latest = WorkerHeartbeat.objects.order_by("-last_pass_at").first()
    if latest is None:
        return WorkerHealth(last_pass_at=None)
    return WorkerHealth(last_pass_at=latest.last_pass_at, host=latest.host, pid=latest.pid)
