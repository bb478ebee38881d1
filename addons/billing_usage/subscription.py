# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime

from trytond.model import fields
from trytond.pool import Pool, PoolMeta


class Line(metaclass=PoolMeta):
    __name__ = 'sale.subscription.line'

    usage_rows_until = fields.Date(
        "Usage Rows Until", readonly=True,
        help="The daily usage rows of a time-weighted metric are made up "
        "to this day (excluded).")

    @classmethod
    def _server_fields(cls):
        fields_ = super()._server_fields()
        fields_['usage_rows_until'] = (
            'subscription_core.msg_line_field_engine')
        return fields_

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('usage_rows_until')
        return super().copy(lines, default=default)


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def create_on_demand_invoices(cls, date=None):
        """Make the hourly usage rows of the hours ended at date first, so
        that usage sent at 13:30 is invoiced at 14:00 (one clock: the
        engine's date)"""
        Row = Pool().get('billing_usage.row')
        if date is None:
            date = datetime.datetime.now(datetime.timezone.utc).replace(
                tzinfo=None)
        until = date if isinstance(date, datetime.datetime) else (
            datetime.datetime.combine(date, datetime.time()))
        Row.generate_hours(until)
        return super().create_on_demand_invoices(date=date)
