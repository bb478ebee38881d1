# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Automation holds: audited, set and released through two wizards.

A hold (``automation_hold_until`` and its reason) on a subscription or on a
customer stops the automated billing actions before its date. No client
writes it (see ``check_modification`` of the subscription and the party):
the *Hold Automation* and *Release Hold* wizards set it and record each
change as a ``sale.subscription.automation_hold`` row (who, when, until,
why) that only this code creates.
"""
import datetime

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .audit import AuditTrailMixin
from .exceptions import AutomationHoldError
from .validation import InputMixin, WizardInputMixin

HOLD_MODELS = ['sale.subscription', 'party.party']


# Only the wizards below write hold rows (audit.py)
class AutomationHold(AuditTrailMixin, InputMixin, ModelSQL, ModelView):
    "Automation Hold"
    __name__ = 'sale.subscription.automation_hold'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    party = fields.Many2One(
        'party.party', "Party", required=True, readonly=True,
        ondelete='RESTRICT',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The customer held, or whose subscription is held.")
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", readonly=True,
        ondelete='RESTRICT',
        help="The subscription held; empty for a hold on the customer.")
    kind = fields.Selection([
            ('hold', "Hold"),
            ('release', "Release"),
            ], "Kind", required=True, readonly=True)
    kind_string = kind.translated('kind')
    until = fields.Date(
        "Until", readonly=True,
        help="No automated billing action runs before this date "
        "(inclusive); empty once released.")
    previous_until = fields.Date(
        "Previous Until", readonly=True,
        help="The hold's date before this change.")
    def get_rec_name(self, name):
        target = self.subscription or self.party
        return '%s %s (%s)' % (
            self.kind_string, target.rec_name, self.until or '')

    @classmethod
    def _company(cls, record):
        if record.__name__ == 'sale.subscription':
            return record.company
        return Transaction().context.get('company')

    @classmethod
    def _log(cls, records, kind, until, reason):
        now = datetime.datetime.now()
        user = Transaction().user or None
        holds = []
        for record in records:
            subscription = (
                record if record.__name__ == 'sale.subscription' else None)
            party = (
                (record.invoice_party or record.party) if subscription
                else record)
            holds.append(cls(
                    company=cls._company(record), party=party,
                    subscription=subscription, kind=kind, until=until,
                    previous_until=record.automation_hold_until,
                    reason=reason, user=user, date=now))
        with without_check_access():
            cls.save(holds)
        return holds

    @classmethod
    def _check_reason(cls, reason):
        if not reason or not reason.strip():
            raise AutomationHoldError(gettext(
                    'subscription_core.msg_automation_hold_reason'))
        return reason.strip()

    @classmethod
    def hold(cls, records, until, reason):
        """Hold automation on records (subscriptions or parties) until

        The date is the last day held; it is not before today.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        reason = cls._check_reason(reason)
        today = Date.today()
        for record in records:
            if not until or until < today:
                raise AutomationHoldError(gettext(
                        'subscription_core.msg_automation_hold_past',
                        record=record.rec_name, until=until, today=today))
        holds = cls._log(records, 'hold', until, reason)
        cls._write(records, until, reason)
        return holds

    @classmethod
    def release(cls, records, reason):
        "End the automation hold of records now"
        reason = cls._check_reason(reason)
        for record in records:
            if not record.automation_hold_until:
                raise AutomationHoldError(gettext(
                        'subscription_core.msg_automation_hold_not_held',
                        record=record.rec_name))
        holds = cls._log(records, 'release', None, reason)
        cls._write(records, None, None)
        return holds

    @classmethod
    def _write(cls, records, until, reason):
        "Write the hold on records, as the server (no client writes it)"
        pool = Pool()
        by_model = {}
        for record in records:
            by_model.setdefault(record.__name__, []).append(record)
        with without_check_access():
            for model, model_records in by_model.items():
                pool.get(model).write(model_records, {
                        'automation_hold_until': until,
                        'automation_hold_reason': reason,
                        })


class HoldStart(InputMixin, ModelView):
    "Hold Automation"
    __name__ = 'sale.subscription.automation_hold.hold.start'

    until = fields.Date(
        "Until", required=True,
        help="No automated billing action runs before this date "
        "(inclusive).")
    reason = fields.Text("Reason", required=True)


class Hold(WizardInputMixin, Wizard):
    "Hold Automation"
    __name__ = 'sale.subscription.automation_hold.hold'
    start = StateView('sale.subscription.automation_hold.hold.start',
        'subscription_core.automation_hold_hold_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Hold", 'hold', 'tryton-ok', default=True),
            ])
    hold = StateTransition()

    def default_start(self, fields):
        untils = {r.automation_hold_until for r in self.records}
        if len(untils) == 1:
            until, = untils
            if until:
                return {'until': until}
        return {}

    def transition_hold(self):
        pool = Pool()
        AutomationHold = pool.get('sale.subscription.automation_hold')
        if self.model.__name__ not in HOLD_MODELS:
            return 'end'
        AutomationHold.hold(self.records, self.start.until, self.start.reason)
        return 'end'


class ReleaseStart(InputMixin, ModelView):
    "Release Automation Hold"
    __name__ = 'sale.subscription.automation_hold.release.start'

    reason = fields.Text("Reason", required=True)


class Release(WizardInputMixin, Wizard):
    "Release Automation Hold"
    __name__ = 'sale.subscription.automation_hold.release'
    start = StateView('sale.subscription.automation_hold.release.start',
        'subscription_core.automation_hold_release_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Release", 'release', 'tryton-ok', default=True),
            ])
    release = StateTransition()

    def transition_release(self):
        pool = Pool()
        AutomationHold = pool.get('sale.subscription.automation_hold')
        if self.model.__name__ not in HOLD_MODELS:
            return 'end'
        AutomationHold.release(self.records, self.start.reason)
        return 'end'
