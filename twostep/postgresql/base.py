"""Django's PostgreSQL backend that survives a connection the server ended (a restart, a
failover, pg_terminate_backend) without a 500 and without a health-check round trip.

Two guards, both acting only where nothing can have been written:

- Before each cursor and before a transaction begins, outside a transaction, the socket
  of a persistent connection is polled (a local system call, not a query). A server that
  ended the session has sent its goodbye and closed the socket, so it reads as ready; the
  connection is then closed and the statement or transaction runs on a new one. Nothing was
  sent on the dead connection, so nothing is repeated, whatever the statement (a write in
  a transaction included). Django calls this hook (`close_if_health_check_failed`) at
  those two points for its own optional health check, which stays off.
- A connection lost after that poll (while a statement runs) fails the statement. A
  SELECT outside a transaction is then run once more on a new connection: it writes
  nothing, and no transaction of ours died with the old connection. Nothing else is
  retried: a write may have committed before its reply was lost, and a transaction's
  earlier statements died with it; such a request fails as before.
"""

import select

from django.db import InterfaceError, OperationalError
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorWrapper


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(_retry_lost_read)

    def close_if_health_check_failed(self) -> None:
        if not self.in_atomic_block and self.hung_up():
            self.close()
        super().close_if_health_check_failed()

    def hung_up(self) -> bool:
        """The server ended this idle connection (or sent something unasked, which an idle
        session never gets): a zero-timeout poll of its socket, no round trip."""
        if self.connection is None:
            return False
        if self.connection.closed:
            return True
        poller = select.poll()
        poller.register(self.connection.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))

    def reconnect_cursor(self, cursor: CursorWrapper) -> None:
        """A new connection, and a live cursor on it for the wrapper the caller reads from."""
        self.close()
        self.ensure_connection()
        cursor.cursor = self.create_cursor()


def _retry_lost_read(execute, sql, params, many, context):
    try:
        return execute(sql, params, many, context)
    except (OperationalError, InterfaceError):
        connection = context["connection"]
        if connection.in_atomic_block or many or sql.lstrip()[:6].upper() != "SELECT":
            raise
        connection.reconnect_cursor(context["cursor"])
        return execute(sql, params, many, context)
