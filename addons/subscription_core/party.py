# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Bool, Eval
from .validation import InputMixin


class Party(InputMixin, metaclass=PoolMeta):
    __name__ = 'party.party'

    subscription_invoice_grouping = fields.Selection([
            ('party', "One invoice per customer"),
            ('subscription', "One invoice per subscription"),
            ], "Subscription Invoicing", required=True,
        help="Group the subscription charges of a billing cycle on one "
        "invoice for the customer (by organization) or one per "
        "subscription (by service).")
    automation_hold_until = fields.Date(
        "No Automated Billing Action Until",
        help="No automated billing action runs on this customer's "
        "subscriptions before this date (inclusive).")
    automation_hold_reason = fields.Char(
        "Hold Reason",
        states={
            'required': Bool(Eval('automation_hold_until')),
            'invisible': ~Eval('automation_hold_until'),
            })

    @classmethod
    def default_subscription_invoice_grouping(cls):
        return 'party'
