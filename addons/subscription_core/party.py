# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .subscription import check_guarded_fields, guarded_field_error
from .validation import InputMixin

HOLD_FIELDS = ['automation_hold_until', 'automation_hold_reason']


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
        "No Automated Billing Action Until", readonly=True,
        help="No automated billing action runs on this customer's "
        "subscriptions before this date (inclusive).\n"
        "Set by the Hold Automation and Release Hold actions.")
    automation_hold_reason = fields.Char(
        "Hold Reason", readonly=True,
        states={
            'invisible': ~Eval('automation_hold_until'),
            })

    @classmethod
    def default_subscription_invoice_grouping(cls):
        return 'party'

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        for name in HOLD_FIELDS:
            default.setdefault(name)
        return super().copy(parties, default=default)

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        "A client never writes the hold: the hold wizards record it"
        super().check_modification(
            mode, parties, values=values, external=external)
        if not external:
            return
        message = 'subscription_core.msg_party_field_hold'
        if mode == 'write':
            check_guarded_fields(
                parties, values, dict.fromkeys(HOLD_FIELDS, message), {},
                None, guarded_field_error)
        elif mode == 'create':
            for party in parties:
                for name in HOLD_FIELDS:
                    if getattr(party, name):
                        raise guarded_field_error(message, party, name)
