"""Django's PostgreSQL backend that survives a connection the server ended (a restart, a
failover, pg_terminate_backend) without a 500 and without a health-check round trip.

A connection is replaced only where nothing can have been written on it:

- Before each cursor and before a transaction begins, the socket of a persistent
  connection is polled (a local system call, not a query). A server that ended the
  session has sent its goodbye and closed the socket, so it reads as ready; the statement
  then runs on a new connection. Nothing was sent on the dead one, so nothing is repeated,
  whatever the statement. Django calls this hook (`close_if_health_check_failed`) at those
  points for its own optional health check, which stays off.
- A connection lost after that poll (while a statement runs) fails the statement. It is
  run once more on a new connection if it cannot have written anything: a SELECT outside
  a transaction, or the first statement of a transaction (the transaction never reached
  COMMIT, so the server rolled it back). Anything else is not retried: a write outside a
  transaction may have committed before its reply was lost, and a transaction's earlier
  statements died with it; such a request fails as before.

  "A SELECT cannot have written" is an assumption this module makes of its callers: a
  SELECT with side effects (nextval(), pg_advisory_lock(), a function that writes) must
  not be run outside a transaction on this backend, or it may take effect twice. None of
  twostep's statements is one (its SELECTs are the ORM's reads and the session loader's).

"Outside a transaction" means autocommit on and no atomic block: with autocommit turned
off by hand, statements sent outside an atomic block are still a transaction's.

Inside a transaction that has sent nothing yet, the new connection takes the old one's
place under Django's transaction state, which stays valid: the transaction simply begins
on the new server session.
"""

import contextlib
import select

from django.db import InterfaceError, OperationalError
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(_retry_on_lost_connection)

    def close_if_health_check_failed(self) -> None:
        if self.hung_up() and self.nothing_sent_in_transaction():
            self.renew()
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

    def in_transaction(self) -> bool:
        """In an atomic block, or with autocommit turned off (by hand)."""
        return self.in_atomic_block or not self.get_autocommit()

    def nothing_sent_in_transaction(self) -> bool:
        """Outside a transaction, or in one whose first statement has not been sent."""
        if not self.in_transaction():
            return True
        status = self.connection.info.transaction_status if self.connection else None
        return status == TransactionStatus.IDLE

    def renew(self) -> None:
        """A new server session in place of the current one; see the module docstring.
        A refused reconnect raises Django's OperationalError, as any other."""
        if not self.in_transaction():
            self.close()
            self.ensure_connection()
            return
        autocommit = self.get_autocommit()
        with contextlib.suppress(Exception):
            self.connection.close()
        with self.wrap_database_errors:
            self.connection = self.get_new_connection(self.get_connection_params())
            self.connection.autocommit = autocommit
            self.init_connection_state()
        self.errors_occurred = False


def _retry_on_lost_connection(execute, sql, params, many, context):
    connection = context["connection"]
    in_transaction = connection.in_transaction()
    first_in_transaction = in_transaction and connection.nothing_sent_in_transaction()
    try:
        return execute(sql, params, many, context)
    except (OperationalError, InterfaceError):
        lost = connection.connection is None or connection.connection.closed
        read = not in_transaction and not many and _is_select(sql)
        if not lost or not (first_in_transaction or read):
            raise
        connection.renew()
        # The caller reads the rows from this cursor wrapper: give it a live cursor.
        context["cursor"].cursor = connection.create_cursor()
        return execute(sql, params, many, context)


def _is_select(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"
