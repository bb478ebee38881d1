# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import PoolMeta
from trytond.transaction import Transaction


class Date(metaclass=PoolMeta):
    __name__ = 'ir.date'

    @classmethod
    def today(cls, timezone=None):
        """Today, or the date a billing job runs for.

        The scheduled jobs take ``date=None`` and the wizards pass a chosen
        date; within a job run the context key ``billing_date`` makes the
        dates Tryton stamps on its own (dunning dates, payment term dates)
        follow that date instead of the server clock.
        """
        date = Transaction().context.get('billing_date')
        if date:
            return date
        return super().today(timezone=timezone)
