# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The dunning ladder: Tryton's dunnings drive the billing actions.

Scheduled job (3), ``account.dunning.run_dunning_ladder``, generates the
dunnings of the day with Tryton's own ``generate_dunnings``, processes the new
ones the way the *Process Dunning* wizard does (state, date, email logged in
``ir.email``) and plans the billing action of each reached level for every
subscription billed on the dunned invoice (``debt.py`` says which). The
payment of an invoice calls the published hook
``sale.subscription.on_debt_paid`` (``debt.py``).
"""
import datetime

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from . import ladder
from . import bounds
from .billing_error import grouped, job_errors, run_isolated
from .ir import job_date, job_scope
from .validation import InputMixin, check_bounds


class Level(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.dunning.level'

    billing_action_type = fields.Selection(
        'get_billing_action_types', "Billing Action", sort=False,
        help="The billing action planned for the subscriptions billed on "
        "the invoice when a dunning reaches this level.")
    billing_action_delay = fields.TimeDelta(
        "Billing Action Delay",
        states={
            'invisible': ~Eval('billing_action_type'),
            },
        help="The action is planned this long after the day the level is "
        "reached (whole days).")

    @classmethod
    def default_billing_action_delay(cls):
        return datetime.timedelta(0)

    @classmethod
    def validate_fields(cls, levels, field_names):
        super().validate_fields(levels, field_names)
        check_bounds(levels, field_names, {
                'billing_action_delay': bounds.DURATION,
                })

    @classmethod
    def get_billing_action_types(cls):
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        selection = Action.fields_get(['type'])['type']['selection']
        return [(None, '')] + list(selection)

    def test(self, line, date):
        # A dunning climbs at most one level a day, so running the ladder
        # twice for the same day changes nothing the second time.
        result = super().test(line, date)
        if result:
            for dunning in line.dunnings:
                if dunning.date and dunning.date >= date:
                    return False
        return result


class Dunning(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.dunning'

    billing_actions = fields.One2Many(
        'sale.subscription.billing.action', 'dunning', "Billing Actions",
        readonly=True)

    @classmethod
    def copy(cls, dunnings, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_actions')
        return super().copy(dunnings, default=default)

    @property
    def billing_invoice(self):
        "The customer invoice the dunned line belongs to"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        move = self.line.move
        if isinstance(move.origin, Invoice):
            return move.origin
        with without_check_access():
            invoices = Invoice.search(['OR',
                    ('move', '=', move.id),
                    ('additional_moves', '=', move.id),
                    ], limit=1)
        return invoices[0] if invoices else None

    # Scheduled job (3).
    @classmethod
    def run_dunning_ladder(cls, date=None):
        """Generate, process and act on the dunnings of date

        Return the dunnings processed.
        """
        date, company_id = job_scope(date)
        transaction = Transaction()
        # A job does what the scheduler would: as root, for the company.
        # Stock code stamps the dunnings with ir.date.today(): the job's date.
        with transaction.set_user(0), without_check_access(), job_date(date):
            cls.generate_dunnings(date=date)
            drafts = cls.search([
                    ('company', '=', company_id),
                    ('state', '=', 'draft'),
                    ('blocked', '=', False),
                    ], order=[('id', 'ASC')])
            held = cls.get_ladder_held(drafts, date)
            dunnings = [d for d in drafts if d.id not in held]
            # A customer that fails is left out, its dunnings stay draft
            # for the next run (billing_error.py).
            with job_errors('account.dunning|run_dunning_ladder', date):
                dunnings = run_isolated(
                    grouped((d.party, d.id) for d in dunnings),
                    cls._run_ladder)
        return dunnings

    @classmethod
    def _run_ladder(cls, ids):
        "Process the dunnings of ids, send their emails, plan their actions"
        dunnings = cls.browse(ids)
        cls.process(dunnings)
        dunnings = cls.browse(dunnings)
        cls.send_ladder_emails(dunnings)
        cls.plan_billing_actions(dunnings)
        return dunnings

    @classmethod
    def get_ladder_held(cls, dunnings, date):
        """Ids of the dunnings an automation hold keeps in draft on date

        Held: the customer is on hold, or every subscription billed on the
        invoice is. A held dunning is processed once the hold has ended.
        """
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = {d.id: d.billing_invoice for d in dunnings}
        subscriptions = Invoice.get_billed_subscriptions(
            [i for i in invoices.values() if i])
        held = set()
        for dunning in dunnings:
            if ladder.hold_applies(date, dunning.party.automation_hold_until):
                held.add(dunning.id)
                continue
            invoice = invoices[dunning.id]
            subs = subscriptions.get(invoice.id, []) if invoice else []
            if subs and all(s.automation_held(date) for s in subs):
                held.add(dunning.id)
        return held

    @classmethod
    def send_ladder_emails(cls, dunnings):
        """Send the emails of the levels reached, as Process Dunning does

        Each is logged in ``ir.email`` and delivered by a task of its own
        after the commit, tried again until it is sent (``email_.py``).
        """
        pool = Pool()
        Email = pool.get('ir.email')
        Date = pool.get('ir.date')
        logged, pairs = [], []
        for dunning in dunnings:
            if dunning.level.send_email:
                collector = _MessageCollector()
                email = dunning.send_email(datamanager=collector)
                if not email:
                    continue
                if collector.messages:
                    msg, = collector.messages
                    pairs.append((email, msg))
                else:
                    logged.append(email)
        if logged:
            Email.save(logged)
        return logged + Email.send_later(pairs, Date.today())

    @classmethod
    def plan_billing_actions(cls, dunnings):
        "Plan the billing action of each dunning's level (idempotent)"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Invoice = pool.get('account.invoice')
        dunnings = [d for d in dunnings
            if d.level.billing_action_type and d.state != 'draft']
        invoices = {d.id: d.billing_invoice for d in dunnings}
        subscriptions = Invoice.get_billed_subscriptions(
            [i for i in invoices.values() if i])
        actions = []
        for dunning in dunnings:
            invoice = invoices[dunning.id]
            if not invoice:
                continue
            level = dunning.level
            date = ladder.action_planned_date(
                dunning.date, level.billing_action_delay)
            for subscription in subscriptions.get(invoice.id, []):
                actions.append(Action.plan(
                        subscription, level.billing_action_type, date,
                        invoice=invoice, dunning=dunning,
                        reason=gettext(
                            'subscription_core'
                            '.msg_billing_action_reason_dunning',
                            level=level.rec_name, date=dunning.date,
                            invoice=invoice.rec_name)))
        return actions


class _MessageCollector:
    """A data manager that keeps the messages put to it and sends nothing

    Tryton's ``Dunning.send_email`` hands its message to a data manager;
    this one keeps it for ``ir.email.send_later``. Equal only to itself, so
    the transaction joins each.
    """

    def __init__(self):
        self.messages = []

    def put(self, from_addr, to_addrs, msg):
        self.messages.append(msg)

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    def abort(self, trans):
        pass

    tpc_begin = commit = tpc_vote = tpc_finish = tpc_abort = abort
