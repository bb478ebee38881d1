# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Held batches of destructive actions: the 24-hour cap and its release.

The shelve and delete actions of a company (planned by a billing job or by
hand alike) are capped over any 24 hours (``destructive_limit`` of the
configuration, ``grace.over_cap``). The run of the billing actions counts
those the cap let start in the 24 hours before its instant, on the
server's clock (``destructive_counted_at`` of the action rows, see
``action.py``), and adds its own. Above the cap, none of its new
destructive actions runs: they stay planned and join the company's held
batch, a ``cloud_billing.destructive_batch`` row that only this code
writes. The finance managers get one notification when the batch is
created; actions that join it later, and later runs that find them still
held, notify nobody. A held batch stays held until a finance manager
releases it with a reason (*Release* wizard, logged as an event on each
action); its planned actions may then run past the cap once.
"""
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from subscription_core.action_run import action_path
from subscription_core.audit import AuditTrailMixin, ModuleRecordMixin
from subscription_core.ir import server_now
from subscription_core.validation import InputMixin, WizardInputMixin

from .exceptions import DestructiveBatchError


# Only the cap and the Release wizard write batches (audit.py)
class DestructiveBatch(
        AuditTrailMixin, InputMixin, ModelSQL, ModelView):
    "Held Destructive Batch"
    __name__ = 'cloud_billing.destructive_batch'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    actions = fields.Many2Many(
        'cloud_billing.destructive_batch-billing.action', 'batch', 'action',
        "Actions", readonly=True,
        help="The shelve and delete actions held above the cap.")
    state = fields.Selection([
            ('held', "Held"),
            ('released', "Released"),
            ], "State", required=True, readonly=True, sort=False)
    released_by = fields.Many2One('res.user', "Released by", readonly=True)
    released_at = fields.Timestamp("Released at", readonly=True)
    release_reason = fields.Text("Release Reason", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.reason.string = "Why Held"
        cls.date.string = "Held at"
        cls.user.help = "Who ran the job that held the batch."
        cls._buttons.update({
                'request_release': {
                    'invisible': Eval('state') != 'held',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'held'

    def get_rec_name(self, name):
        return '%s (%s)' % (self.company.rec_name, self.date)

    @classmethod
    def held_batch(cls, company):
        "The held batch of company, or None"
        with without_check_access():
            batches = cls.search([
                    ('company', '=', company.id),
                    ('state', '=', 'held'),
                    ], order=[('id', 'ASC')], limit=1)
        return batches[0] if batches else None

    @classmethod
    def hold(cls, company, actions, reason):
        """Add actions to the held batch of company, or create it

        Return the batch and whether it is new (only then are the finance
        managers notified).
        """
        batch = cls.held_batch(company)
        new = batch is None
        with without_check_access():
            if new:
                batch = cls(company=company, state='held', actions=[],
                    reason=reason, user=Transaction().user or None,
                    date=server_now())
                batch.save()
            cls.write([batch], {
                    'actions': [('add', [a.id for a in actions])],
                    })
        return batch, new

    @classmethod
    def holding(cls, actions):
        "The ids of actions in a held batch"
        with without_check_access():
            batches = cls.search([
                    ('state', '=', 'held'),
                    ('actions', 'in', [a.id for a in actions]),
                    ])
        return {a.id for b in batches for a in b.actions}

    @classmethod
    def released_once(cls, actions):
        """The ids of actions that a release lets run past the cap: released
        after the cap last counted them"""
        with without_check_access():
            batches = cls.search([
                    ('state', '=', 'released'),
                    ('actions', 'in', [a.id for a in actions]),
                    ])
        released = {}
        for batch in batches:
            for action in batch.actions:
                released[action.id] = max(
                    released.get(action.id, batch.released_at),
                    batch.released_at)
        return {a.id for a in actions if a.id in released
            and (not a.destructive_counted_at
                or a.destructive_counted_at < released[a.id])}

    @classmethod
    def release(cls, batches, reason):
        """Release held batches for reason: their planned actions may run
        past the cap once (an event on each)"""
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        if not reason or not reason.strip():
            raise DestructiveBatchError(gettext(
                    'cloud_billing.msg_destructive_batch_release_reason'))
        reason = reason.strip()
        for batch in batches:
            if batch.state != 'held':
                raise DestructiveBatchError(gettext(
                        'cloud_billing.msg_destructive_batch_not_held',
                        batch=batch.rec_name))
        user = Transaction().user or None
        with without_check_access():
            cls.write(batches, {
                    'state': 'released',
                    'released_by': user,
                    'released_at': server_now(),
                    'release_reason': reason,
                    })
        batches = cls.browse(batches)
        with action_path():
            for batch in batches:
                actions = [a for a in batch.actions if a.state == 'planned']
                Action._transition(actions, 'planned', gettext(
                        'cloud_billing.msg_destructive_batch_released',
                        user=batch.released_by.rec_name if batch.released_by
                        else '', reason=reason))

    @classmethod
    @ModelView.button_action(
        'cloud_billing.wizard_destructive_batch_release')
    def request_release(cls, batches):
        pass


class DestructiveBatchAction(ModuleRecordMixin, ModelSQL):
    "Held Destructive Batch - Billing Action"
    __name__ = 'cloud_billing.destructive_batch-billing.action'

    batch = fields.Many2One(
        'cloud_billing.destructive_batch', "Batch", required=True,
        ondelete='CASCADE')
    action = fields.Many2One(
        'sale.subscription.billing.action', "Action", required=True,
        ondelete='CASCADE')


class ReleaseStart(InputMixin, ModelView):
    "Release Held Destructive Batch"
    __name__ = 'cloud_billing.destructive_batch.release.start'

    reason = fields.Text("Reason", required=True)


class Release(WizardInputMixin, Wizard):
    "Release Held Destructive Batch"
    __name__ = 'cloud_billing.destructive_batch.release'
    start = StateView('cloud_billing.destructive_batch.release.start',
        'cloud_billing.destructive_batch_release_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Release", 'release', 'tryton-ok', default=True),
            ])
    release = StateTransition()

    def transition_release(self):
        pool = Pool()
        Batch = pool.get('cloud_billing.destructive_batch')
        if self.model.__name__ != Batch.__name__:
            return 'end'
        Batch.release(self.records, self.start.reason)
        return 'end'
