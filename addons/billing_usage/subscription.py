# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.model import fields
from trytond.pool import PoolMeta


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
