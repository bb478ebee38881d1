# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The cloud's billing actions and the grace workflow.

The engine's ``sale.subscription.billing.action`` gains the types that act
on OpenStack (``shelve``, ``unshelve``, ``delete``, ``quota_change``, run by
the engine's queued remote path after the commit) and the local step
``pending_deletion``, declared in the table of ``grace.py``
(``grace.ACTION_TYPES``). The workflow is a chain: the dunning level of the
cloud procedure plans ``grace``; each done step of a cloud subscription does
what ``grace.next_steps`` says (``on_done``): writes the subscription's
dates, plans the next steps from the company's configuration and sends its
email::

    grace ─(shelve grace)→ shelve ─(retention − warning)→ pending_deletion
          ─(warning)→ delete → close

A payment cancels the planned steps of the debt and plans ``unshelve``
(``Subscription._restore_action_type``), or ``undelete`` while the deleted
servers are restorable (a cloud with a reclaim interval): ``undelete``
restores them and cancels the close planned after the deadline.
"""
import json
import logging

from trytond import config
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from subscription_core.action_run import action_path
from subscription_core.exceptions import (
    BillingActionFailure, BillingActionRetry, LimitChangeError)

from . import grace, openstack
from .exceptions import CloudConnectionError
from subscription_core import bounds
from subscription_core.validation import InputMixin, check_bounds

logger = logging.getLogger(__name__)

class BillingOutcomeRetry(BillingActionRetry):
    "A retry that carries the server outcomes of the attempt"

    def __init__(self, message, external_ref=None, outcomes=None):
        super().__init__(message, external_ref=external_ref)
        self.outcomes = outcomes or []


class BillingOutcomeFailure(BillingActionFailure):
    "A failure that carries the server outcomes of the attempt"

    def __init__(self, message, external_ref=None, outcomes=None):
        super().__init__(message, external_ref=external_ref)
        self.outcomes = outcomes or []


class BillingAction(InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription.billing.action'

    quota_line = fields.Many2One(
        'sale.subscription.line', "Quota Line", ondelete='RESTRICT',
        domain=[
            ('subscription', '=', Eval('subscription', -1)),
            ],
        states={
            'invisible': Eval('type') != 'quota_change',
            'required': Eval('type') == 'quota_change',
            'readonly': Eval('state') != 'planned',
            },
        help="The subscription line whose limit changes.")
    quota_quantity = fields.Float(
        "New Limit",
        states={
            'invisible': Eval('type') != 'quota_change',
            'required': Eval('type') == 'quota_change',
            'readonly': Eval('state') != 'planned',
            },
        help="The limit applied in OpenStack, then billed pro rata from "
        "the day the action runs.")
    remote_outcomes = fields.Text(
        "Remote Outcomes", readonly=True,
        help="What the last attempt did in OpenStack, per server: result, "
        "status, error and request ids.")

    @classmethod
    def validate_fields(cls, actions, field_names):
        super().validate_fields(actions, field_names)
        check_bounds(actions, field_names, {
                'quota_quantity': bounds.QUANTITY,
                })

    @classmethod
    def copy(cls, actions, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('remote_outcomes')
        return super().copy(actions, default=default)

    @classmethod
    def _action_types(cls):
        return super()._action_types() | grace.CLOUD_TYPES

    @classmethod
    def _editable_fields(cls):
        return super()._editable_fields() | {'quota_line', 'quota_quantity'}

    def already_done(self):
        if self.type == 'quota_change':
            return False
        return super().already_done()

    # Safety: the pause switch and the per-run limit.
    def automation_paused(self):
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration')
        return bool(self.actor == 'scheduler'
            and Configuration.get_for(self.company).automation_paused)

    def stopped_by_server(self):
        """Whether the server's configuration stops this action: with
        ``[cloud_billing] stop_destructive = true`` in trytond.conf no shelve
        or delete runs, by hand or planned, whatever the database says"""
        return (self.type in self._types_where(destructive=True)
            and config.getboolean(
                'cloud_billing', 'stop_destructive', default=False))

    def held(self, date):
        return (super().held(date) or self.automation_paused()
            or self.stopped_by_server())

    def _hold_message(self):
        if self.stopped_by_server():
            return gettext('cloud_billing.msg_destructive_stopped_by_server')
        if self.automation_paused():
            return gettext('cloud_billing.msg_automation_paused',
                company=self.company.rec_name)
        return super()._hold_message()

    @classmethod
    def run(cls, actions, date):
        actions = cls._limit_destructive(actions, date)
        return super().run(actions, date)

    @classmethod
    def _limit_destructive(cls, actions, date):
        """Leave out the destructive actions of a run above the limit

        When the planned scheduler actions of shelve or delete of a company
        outnumber its limit, none of them runs: they stay planned, the
        event is logged and the finance managers are alerted.
        """
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration')
        by_company = {}
        destructive_types = cls._types_where(destructive=True)
        for action in actions:
            if (action.state == 'planned' and action.actor == 'scheduler'
                    and action.type in destructive_types):
                by_company.setdefault(action.company, []).append(action)
        stopped = set()
        for company, destructive in by_company.items():
            configuration = Configuration.get_for(company)
            limit = configuration.destructive_limit
            if not limit or limit <= 0:
                # A missing limit never means "no limit".
                limit = grace.DEFAULTS['destructive_limit']
            if len(destructive) <= limit:
                continue
            message = gettext('cloud_billing.msg_destructive_limit',
                company=company.rec_name, count=len(destructive),
                limit=limit, date=date)
            logger.warning(message)
            cls._transition(destructive, 'planned', message, date=date)
            cls._alert_finance_managers(company, destructive, message)
            stopped.update(a.id for a in destructive)
        return [a for a in actions if a.id not in stopped]

    @classmethod
    def _alert_finance_managers(cls, company, actions, message):
        "Notify the company's finance managers (Tryton notification)"
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration')
        Notification = pool.get('res.notification')
        users = Configuration.finance_managers(company)
        with without_check_access():
            Notification.save([Notification(
                        user=u,
                        label=gettext(
                            'cloud_billing.msg_destructive_limit_label'),
                        description=message[:250],
                        model=cls.__name__,
                        records=json.dumps([a.id for a in actions]),
                        ) for u in users])
        logger.warning("alerted %s finance manager(s) of %s",
            len(users), company.rec_name)
        return users

    # Preconditions
    def check_preconditions(self, date):
        reason = super().check_preconditions(date)
        if reason:
            return reason
        subscription = self.subscription
        if self.type in {
                'shelve', 'unshelve', 'delete', 'undelete', 'quota_change'}:
            if not subscription.cloud or not subscription.project_id:
                return gettext('cloud_billing.msg_action_no_project',
                    subscription=subscription.rec_name)
        if self.type == 'delete':
            deletion = subscription.cloud_deletion_date
            if (subscription.billing_status != 'pending_deletion'
                    or not deletion or deletion > date):
                return gettext('cloud_billing.msg_delete_not_due',
                    subscription=subscription.rec_name,
                    date=deletion or '')
        if self.type == 'quota_change':
            if (not self.quota_line
                    or self.quota_line.subscription != subscription
                    or self.quota_quantity is None
                    or self.quota_quantity < 0):
                return gettext('cloud_billing.msg_quota_change_invalid',
                    subscription=subscription.rec_name)
        return None

    # Execution (in the queued task, after the commit that planned it)
    def _cloud_resources(self):
        return [r for r in self.subscription.cloud_resources if not r.gone]

    def _remote_wait(self):
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration')
        wait = Configuration.get_for(self.company).remote_wait
        return wait or None

    def _server_outcomes(self, outcomes):
        """Record the outcomes and return the request ids, or raise

        A failed server fails the action (a person looks), a server to
        retry retries it; done, already and gone servers are done.
        """
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        items = [(r.id, o) for r, o in outcomes.items()]
        self._write_outcomes(items)
        refs = ' '.join(o.request_id or o.global_request_id or ''
            for _, o in items if o.sent or o.request_id).strip() or None
        failed = [o for _, o in items if o.result == openstack.FAILED]
        retry = [o for _, o in items if o.result == openstack.RETRY]
        if failed or retry:
            message = '\n'.join('%s: %s (%s) %s [%s]' % (
                    o.server_id, o.result, o.status or '', o.error or '',
                    o.request_id or o.global_request_id or '')
                for o in failed + retry)
            error = BillingOutcomeFailure if failed else BillingOutcomeRetry
            raise error(message, external_ref=refs, outcomes=[
                    (Resource(i).id, o) for i, o in items])
        return refs

    def _write_outcomes(self, items):
        with action_path():
            self.__class__.write([self], {
                    'remote_outcomes': json.dumps(
                        [o.as_dict() for _, o in items], indent=1),
                    })

    def _record_failed_attempt(self, error):
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        super()._record_failed_attempt(error)
        items = getattr(error, 'outcomes', None)
        if items:
            with without_check_access():
                resources = Resource.browse([i for i, _ in items])
                Resource.record_outcomes(resources, [o for _, o in items])
            self._write_outcomes(items)

    def _execute_shelve(self, date):
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        resources = self._cloud_resources()
        if not resources:
            return None
        return self._server_outcomes(Resource.remote_action(
                resources, 'shelve', wait=self._remote_wait()))

    def _execute_unshelve(self, date):
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        resources = [r for r in self._cloud_resources()
            if r.shelved_by_billing]
        if not resources:
            return None
        return self._server_outcomes(Resource.remote_action(
                resources, 'unshelve', wait=self._remote_wait()))

    def _execute_undelete(self, date):
        """Restore the soft-deleted servers billing deleted

        A server the cloud already reclaimed cannot come back: the action
        fails (a person looks) and the planned close still runs.
        """
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        resources = [r for r in self._cloud_resources()
            if r.status in openstack.RESTORABLE]
        if not resources:
            raise BillingActionFailure(gettext(
                    'cloud_billing.msg_undelete_nothing',
                    subscription=self.subscription.rec_name))
        outcomes = Resource.remote_action(
            resources, 'restore', wait=self._remote_wait())
        reclaimed = [o for o in outcomes.values()
            if o.result == openstack.GONE]
        if reclaimed:
            for outcome in reclaimed:
                outcome.result = openstack.FAILED
                outcome.error = gettext(
                    'cloud_billing.msg_undelete_reclaimed',
                    server=outcome.server_id,
                    status=outcome.status or '')
        return self._server_outcomes(outcomes)

    def _execute_pending_deletion(self, date):
        "Only changes the status; on_done warns the customer"

    def _execute_delete(self, date):
        pool = Pool()
        Date = pool.get('ir.date')
        Resource = pool.get('cloud_billing.resource')
        subscription = self.subscription
        # Re-checked at the instant the servers would go, on the server's
        # date: the task may run later than the job that queued it.
        reason = self.check_preconditions(min(date, Date.server_today()))
        if reason:
            raise BillingActionFailure(reason)
        resources = self._cloud_resources()
        foreign = [r for r in resources
            if r.project_id != subscription.project_id
            or r.cloud != subscription.cloud]
        if foreign:
            # Nothing is deleted: a person looks at the records first.
            raise BillingActionFailure(gettext(
                    'cloud_billing.msg_delete_foreign_project',
                    subscription=subscription.rec_name,
                    project=subscription.project_id,
                    servers=', '.join('%s (%s)' % (r.uuid, r.project_id)
                        for r in foreign)))
        if not resources:
            return None
        return self._server_outcomes(Resource.remote_action(
                resources, 'delete', wait=self._remote_wait()))

    def _execute_quota_change(self, date):
        """Change the line's limit, apply the new quota, read it back

        The limit change and the quota are written in the same
        transaction: when OpenStack does not take the quota, the task rolls
        back and the limit stays as it was.
        """
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        subscription = self.subscription
        try:
            Line.change_limit(self.quota_line, self.quota_quantity, date,
                reason=self.reason)
        except LimitChangeError as e:
            raise BillingActionFailure(e.message) from e
        subscription = subscription.__class__(subscription.id)
        quota = subscription.get_cloud_quota(date)
        try:
            conn = subscription.cloud.connect()
        except CloudConnectionError as e:
            raise BillingActionRetry(e.message) from e
        outcome = openstack.quota_change(conn, subscription.project_id, quota)
        ref = outcome.request_id or outcome.global_request_id
        with action_path():
            self.__class__.write([self], {
                    'remote_outcomes': json.dumps(outcome.as_dict(), indent=1),
                    })
        if outcome.result in {openstack.DONE, openstack.ALREADY}:
            return ref
        message = gettext('cloud_billing.msg_quota_change_failed',
            project=subscription.project_id, error=outcome.error or '')
        if outcome.result == openstack.RETRY:
            raise BillingActionRetry(message, external_ref=ref)
        raise BillingActionFailure(message, external_ref=ref)

    # The workflow: each done step does what grace.next_steps says.
    @classmethod
    def on_done(cls, actions, date):
        super().on_done(actions, date)
        for action in actions:
            if action.subscription.cloud:
                action._follow(date)
        cls._cancel_deferred_close(
            [a for a in actions if a.type == 'undelete'], date)

    @classmethod
    def _cancel_deferred_close(cls, actions, date):
        """The servers are back: the close the delete planned after the
        deadline goes (a close planned by hand stays)"""
        subscriptions = [a.subscription.id for a in actions]
        if not subscriptions:
            return
        with action_path():
            closes = cls.search([
                    ('subscription', 'in', subscriptions),
                    ('type', '=', 'close'),
                    ('state', '=', 'planned'),
                    ('actor', '=', 'scheduler'),
                    ])
        cls._cancel(closes,
            gettext('cloud_billing.msg_action_cancel_undeleted'), date=date)

    def _follow(self, date):
        """Write the subscription's dates, plan the next steps and send the
        email of the step done on date (grace.next_steps)"""
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        cls = self.__class__
        subscription = self.subscription
        configuration = self._configuration()
        settings = {name: getattr(configuration, name)
            for name in grace.SETTINGS}
        settings['reclaim_seconds'] = self._reclaim_seconds()
        try:
            follow = grace.next_steps(self.type, date, settings,
                deletion_date=subscription.cloud_deletion_date,
                table=self._action_types())
        except grace.GraceSettingError as e:
            # Never "at once": without a valid duration nothing is planned
            # and the subscription stays where it is.
            logger.error("nothing follows %s of %s: %s",
                self.type, subscription.rec_name, e)
            return
        if follow.records:
            with action_path():
                Subscription.write([subscription], follow.records)
        reason = gettext(follow.reason, date=date,
            deletion=follow.dates['deletion_date']) if follow.reason else None
        to_run = []
        for type_, planned_date, expected_status, run_now in follow.steps:
            action = self._plan_next(
                type_, planned_date, expected_status, reason,
                # A close deferred to the restore deadline is not about the
                # debt: a payment after the deadline does not cancel it.
                deferred=planned_date > date)
            if run_now:
                to_run.append(action)
        if follow.email:
            self._send_email(follow.email, follow.email_values, date)
        if to_run:
            cls.run(to_run, date)

    def _reclaim_seconds(self):
        """The cloud's reclaim interval, when the delete left servers
        restorable (SOFT_DELETED): Nova deletes a SHELVED_OFFLOADED server
        at once, whatever the interval; then the deletion is final (0)"""
        if self.type != 'delete':
            return 0
        subscription = self.subscription.__class__(self.subscription.id)
        return subscription.cloud_deletion_reclaim_seconds()

    def _debt_values(self):
        return {'invoices': [self.invoice]} if self.invoice else {}

    def _send_email(self, kind, values, date, step_key=None):
        """Send the step's email (once per step, see send_billing_email)

        The debt emails need the invoice: a step planned by hand without
        one sends none.
        """
        if kind != 'restored' and not self.invoice:
            return None
        return self.subscription.send_billing_email(
            kind, step_key or self._step_key(),
            dict(self._debt_values(), **values), date=date)

    def _step_key(self):
        return 'invoice-%s' % (self.invoice.id if self.invoice else
            'action-%s' % self.id)

    def _plan_next(self, type_, date, expected_status, reason,
            deferred=False):
        invoice = self.invoice
        if type_ == 'close' and deferred:
            invoice = None
        return self.__class__.plan(
            self.subscription, type_, date, invoice=invoice,
            expected_status=expected_status, reason=reason)

    def _configuration(self):
        return Pool().get('cloud_billing.configuration').get_for(
            self.company)
