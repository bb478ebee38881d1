# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.model import fields
from trytond.pool import PoolMeta

from .subscription import BILLING_PERIODS, BILLING_TYPES


class Service(metaclass=PoolMeta):
    __name__ = 'sale.subscription.service'

    billing_type = fields.Selection(
        BILLING_TYPES, "Billing Type", required=True,
        help="The default billing type of the subscription lines.")
    billing_period = fields.Selection(
        BILLING_PERIODS, "Billing Period", required=True)

    @classmethod
    def default_billing_type(cls):
        return 'limit'

    @classmethod
    def default_billing_period(cls):
        return 'month'
