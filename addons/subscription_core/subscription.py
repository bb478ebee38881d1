# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

BILLING_STATUSES = [
    ('active', "Active"),
    ('grace', "Grace"),
    ]


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    billing_model = fields.Selection([
            ('monthly', "Monthly (limit-based)"),
            ('prepaid', "Prepaid"),
            ], "Billing Model", required=True,
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="Monthly: billed each month in arrears on the reserved limits.\n"
        "Prepaid: billed upfront for the whole subscription term.")
    billing_status = fields.Selection(
        BILLING_STATUSES, "Billing Status", readonly=True, required=True,
        sort=False,
        help="Where the subscription stands in the billing ladder. "
        "It only changes through billing actions.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('billing_status', 'ASC'))

    @classmethod
    def default_billing_model(cls):
        return 'monthly'

    @classmethod
    def default_billing_status(cls):
        return 'active'

    @classmethod
    def copy(cls, subscriptions, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_status', cls.default_billing_status())
        return super().copy(subscriptions, default=default)
