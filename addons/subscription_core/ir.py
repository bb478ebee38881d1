# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""One clock: the server's date, which no client can move.

``ir.date.today()`` is the server's real date. Nothing in a client's
context changes it. Tests and the demo builder move it with :func:`travel`,
a Python call inside the server process that no RPC or HTTP request can
reach.
"""
from contextlib import contextmanager

from trytond.pool import PoolMeta

# The date the process travelled to, or None for the real date. Only
# travel() sets it.
_travelled_to = None


@contextmanager
def travel(date):
    """Make ``ir.date.today()`` return date inside the block (tests, demo)

    It is process-wide and not reachable by a client: a scenario or the
    demo builder calls it in the server's own process to replay history.
    """
    global _travelled_to
    previous, _travelled_to = _travelled_to, date
    try:
        yield date
    finally:
        _travelled_to = previous


class Date(metaclass=PoolMeta):
    __name__ = 'ir.date'

    @classmethod
    def today(cls, timezone=None):
        "The server's date (or the date a test travelled to)"
        if _travelled_to is not None:
            return _travelled_to
        # TODO(issue 11, being removed): the jobs' context key.
        from trytond.transaction import Transaction
        date = Transaction().context.get('billing_date')
        if date:
            return date
        return super().today(timezone=timezone)
