# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.model import fields
from trytond.pool import PoolMeta


class Consumption(metaclass=PoolMeta):
    __name__ = 'sale.subscription.line.consumption'

    usage_row = fields.Many2One(
        'billing_usage.row', "Daily Usage Row", readonly=True,
        ondelete='RESTRICT',
        help="The daily usage row this consumption bills.")
