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

The step's email leaves in a queued task of its own (``send_step_email``),
after the outcome of the step committed: a mail server that refuses it
never undoes the step. A stranded shelve, unshelve or delete is recovered
from the servers' real state in Nova (``recover``).
"""
import datetime
import json
import logging

from trytond import config
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from subscription_core.action_run import action_path, queue_context
from subscription_core.ir import server_now
from subscription_core.exceptions import (
    BillingActionCancel, BillingActionFailure, BillingActionRetry,
    LimitChangeError)

from . import grace, openstack
from .exceptions import CloudConnectionError, QuotaChangeError
from .quota import QuotaError
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


class BillingOutcomeCancel(BillingActionCancel):
    "A cancel that carries the server outcomes of the attempt"

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
    destructive_counted_at = fields.Timestamp(
        "Counted in Cap at", readonly=True,
        help="When the 24-hour cap of the shelve and delete actions of the "
        "company last let the action start (the server's clock).")
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
        default.setdefault('destructive_counted_at')
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
        # Servers a finance manager shelved stay shelved once billing is
        # active again: an unshelve planned by hand still has work.
        if self.type == 'unshelve' and self._unshelved_resources():
            return False
        return super().already_done()

    # Safety: the pause switch, the server's switch and the 24-hour cap.
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
        actions = cls._await_notice(actions, date)
        actions = cls._limit_destructive(actions, date)
        return super().run(actions, date)

    @classmethod
    def _limit_destructive(cls, actions, date):
        """Leave out the destructive actions above the company's cap

        The shelve and delete actions of a company, planned by a job or by
        hand, are capped over any 24 hours (destructive_batch.py): those
        the cap let start in the 24 hours before the server's instant
        (destructive_counted_at) and the new ones of this run may not
        exceed the limit. Above it none of the new ones runs: they stay
        planned in the company's held batch (an event on each) and the
        finance managers are notified once, when the batch is created.
        The actions of a held batch stay planned until it is released;
        the actions of a released batch run past the cap once.
        """
        pool = Pool()
        Batch = pool.get('cloud_billing.destructive_batch')
        Date = pool.get('ir.date')
        destructive_types = cls._types_where(destructive=True)
        # The date _start checks the holds on (the pause, the switch)
        check_date = min(date, Date.server_today())
        with action_path():
            candidates = [a for a in cls.browse(actions)
                if a.state == 'planned' and a.type in destructive_types
                and not a.held(check_date)]
        if not candidates:
            return actions
        now = server_now()
        start = grace.cap_window_start(now)
        stopped = Batch.holding(candidates)
        released = Batch.released_once(candidates)
        admitted, by_company = [], {}
        for action in candidates:
            if action.id in stopped:
                continue
            elif (action.destructive_counted_at
                    and start <= action.destructive_counted_at <= now):
                # Let start in the window (e.g. its task has not run yet):
                # counted already, it stays so.
                continue
            elif action.id in released:
                admitted.append(action)
            else:
                by_company.setdefault(action.company, []).append(action)
        for company, new in by_company.items():
            limit = cls._destructive_limit(company)
            with action_path():
                counted = cls.search_count([
                        ('company', '=', company.id),
                        ('type', 'in', list(destructive_types)),
                        ('destructive_counted_at', '>=', start),
                        ('destructive_counted_at', '<=', now),
                        ])
            if not grace.over_cap(counted, len(new), limit):
                admitted.extend(new)
                continue
            message = gettext('cloud_billing.msg_destructive_limit',
                company=company.rec_name, count=len(new), counted=counted,
                limit=limit, date=date)
            logger.warning(message)
            batch, created = Batch.hold(company, new, message)
            cls._transition(new, 'planned', message, date=date)
            if created:
                cls._alert_finance_managers(
                    company, new, message, batch=batch)
            stopped.update(a.id for a in new)
        if admitted:
            with action_path():
                cls.write(admitted, {'destructive_counted_at': now})
        return [a for a in actions if a.id not in stopped]

    @classmethod
    def _destructive_limit(cls, company):
        "The cap of company (a missing limit never means no limit)"
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration')
        limit = Configuration.get_for(company).destructive_limit
        if not limit or limit <= 0:
            limit = grace.DEFAULTS['destructive_limit']
        return limit

    @classmethod
    def _alert_finance_managers(cls, company, actions, message,
            label='cloud_billing.msg_destructive_limit_label', batch=None):
        """Notify the company's finance managers (Tryton notification) of
        actions, or of the held batch when given"""
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration')
        Notification = pool.get('res.notification')
        users = Configuration.finance_managers(company)
        if batch is not None:
            model, ids = batch.__name__, [batch.id]
        else:
            model, ids = cls.__name__, [a.id for a in actions]
        with without_check_access():
            Notification.save([Notification(
                        user=u,
                        label=gettext(label),
                        description=message[:250],
                        model=model,
                        records=json.dumps(ids),
                        ) for u in users])
        logger.warning("alerted %s finance manager(s) of %s",
            len(users), company.rec_name)
        return users

    # Stranded actions (the engine's reaper)
    def stranded_timeout(self):
        return datetime.timedelta(
            minutes=self._configuration().stranded_timeout
            or grace.DEFAULTS['stranded_timeout'])

    @classmethod
    def _alert_stranded(cls, actions):
        super()._alert_stranded(actions)
        by_company = {}
        for action in actions:
            by_company.setdefault(action.company, []).append(action)
        for company, company_actions in by_company.items():
            cls._alert_finance_managers(company, company_actions,
                gettext('cloud_billing.msg_stranded_alert',
                    company=company.rec_name, count=len(company_actions),
                    actions=', '.join(a.rec_name for a in company_actions)),
                label='cloud_billing.msg_stranded_alert_label')

    def recover(self, date):
        """Read the servers again in Nova: done when each one is where the
        action leads (the outcomes are recorded), else run it again"""
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        if self.type not in {'shelve', 'unshelve', 'delete'}:
            return super().recover(date)
        resources = self._target_resources()
        if not resources:
            return None
        return self._server_outcomes(Resource.remote_state(
                resources, self.type, billing_action=self))

    # Preconditions
    def check_preconditions(self, date):
        reason = super().check_preconditions(date)
        if reason:
            return reason
        subscription = self.subscription
        if self.type in {
                'shelve', 'unshelve', 'delete', 'undelete', 'quota_change',
                'quota_set'}:
            if not subscription.cloud or not subscription.project_id:
                return gettext('cloud_billing.msg_action_no_project',
                    subscription=subscription.rec_name)
        if self.type == 'delete':
            deletion = subscription.cloud_deletion_date
            if (subscription.billing_status != 'pending_deletion'
                    or not deletion):
                return gettext('cloud_billing.msg_delete_not_due',
                    subscription=subscription.rec_name,
                    date=deletion or '')
            reason = self._notice_reason(date)
            if reason:
                return reason
        if self.type == 'quota_change':
            if (not self.quota_line
                    or self.quota_line.subscription != subscription
                    or self.quota_quantity is None
                    or self.quota_quantity < 0):
                return gettext('cloud_billing.msg_quota_change_invalid',
                    subscription=subscription.rec_name)
        return None

    # Notice before deletion: a delivered warning, the warning days before.
    def _warned_on(self):
        """The day the pre-deletion warning of this deletion's debt was
        delivered (handed to the mail server), or None

        The warning of the debt (the step of the invoice); without a debt,
        one sent since the servers were shelved.
        """
        pool = Pool()
        BillingEmail = pool.get('sale.subscription.billing_email')
        subscription = self.subscription
        domain = [
            ('subscription', '=', subscription.id),
            ('kind', '=', 'pre_deletion'),
            ('state', '=', 'sent'),
            ]
        if self.invoice:
            domain.append(('step_key', '=', self._step_key()))
        elif subscription.cloud_shelved_date:
            domain.append(
                ('sent_date', '>=', subscription.cloud_shelved_date))
        with without_check_access():
            emails = BillingEmail.search(domain,
                order=[('sent_date', 'DESC'), ('id', 'DESC')], limit=1)
        return emails[0].sent_date if emails else None

    def _noticed_deletion(self, warned_on=None):
        """The first day the servers may be deleted (grace.
        noticed_deletion_date), None while the customer is not warned"""
        if warned_on is None:
            warned_on = self._warned_on()
        try:
            return grace.noticed_deletion_date(warned_on,
                self._configuration().deletion_warning_days,
                self.subscription.cloud_deletion_date)
        except grace.GraceSettingError:
            return None

    def _notice_reason(self, date):
        "None when the customer was warned in time to delete on date"
        subscription = self.subscription
        days = self._configuration().deletion_warning_days
        warned_on = self._warned_on()
        noticed = self._noticed_deletion(warned_on)
        if noticed is None:
            return gettext('cloud_billing.msg_delete_not_warned',
                subscription=subscription.rec_name,
                party=subscription.billing_email_party.rec_name,
                days=days)
        if noticed > date:
            return gettext('cloud_billing.msg_delete_waits',
                subscription=subscription.rec_name, date=noticed,
                warned=warned_on or '', days=days)
        return None

    @classmethod
    def _await_notice(cls, actions, date):
        """Leave out the deletions whose customer was not warned in time

        A due delete whose only unmet precondition is the notice waits:
        when no warning was delivered it is sent again (the deletion date
        it gives counts from today); once one is delivered the deletion
        moves to the first day the notice allows (subscription and action).
        A warning sent by this run is delivered after its commit, so the
        next run moves the deletion. The reason is logged on the action
        and the finance managers are alerted, once per reason.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        Subscription = pool.get('sale.subscription')
        # The day the checks of the run use (BillingActionRun._start).
        check_date = min(date, Date.server_today())
        waiting = []
        for action in actions:
            if (action.state != 'planned' or action.type != 'delete'
                    or action.held(check_date)):
                continue
            reason = action._notice_reason(check_date)
            if not reason or action.check_preconditions(check_date) != reason:
                continue
            if action._warned_on() is None:
                action._send_warning_again(date)
                reason = action._notice_reason(check_date)
            noticed = action._noticed_deletion()
            if noticed and noticed > action.planned_date:
                with action_path():
                    Subscription.write([action.subscription], {
                            'cloud_deletion_date': noticed,
                            })
                    cls.write([action], {'planned_date': noticed})
                action = cls(action.id)
                reason = action._notice_reason(check_date)
            if not reason:
                continue
            last = action.events[-1] if action.events else None
            if not last or last.message != reason:
                logger.warning(reason)
                cls._transition([action], 'planned', reason, date=date)
                cls._alert_finance_managers(action.company, [action], reason,
                    label='cloud_billing.msg_delete_waits_label')
            waiting.append(action.id)
        return [a for a in actions if a.id not in waiting]

    def _send_warning_again(self, date):
        """Send the pre-deletion warning of the debt again (a customer
        without an email address, a warning that never left)"""
        deletion = grace.noticed_deletion_date(date,
            self._configuration().deletion_warning_days,
            self.subscription.cloud_deletion_date)
        return self._send_email(
            'pre_deletion', {'deletion_date': deletion}, date)

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
                Resource.record_outcomes(
                    resources, [o for _, o in items], action=self)
            self._write_outcomes(items)

    def _execute_shelve(self, date):
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        resources = self._target_resources()
        if not resources:
            return None
        return self._server_outcomes(Resource.remote_action(
                resources, 'shelve', wait=self._remote_wait(),
                billing_action=self))

    def _unshelved_resources(self):
        """The servers an unshelve gives back: those billing shelved; an
        unshelve planned by hand also those a finance manager shelved"""
        return [r for r in self._cloud_resources()
            if r.shelved_by_billing
            or (self.actor == 'user' and r.shelved_by == 'manager')]

    def _target_resources(self):
        "The servers a shelve, unshelve or delete acts on (the preview too)"
        if self.type == 'unshelve':
            return self._unshelved_resources()
        return self._cloud_resources()

    def preview_targets(self):
        if self.type in {'shelve', 'unshelve', 'delete'}:
            return ', '.join(r.rec_name for r in self._target_resources())
        if self.type == 'quota_change':
            return '%s → %s' % (self.quota_line.rec_name, self.quota_quantity)
        return super().preview_targets()

    def _execute_unshelve(self, date):
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        resources = self._target_resources()
        if not resources:
            return None
        return self._server_outcomes(Resource.remote_action(
                resources, 'unshelve', wait=self._remote_wait(),
                billing_action=self))

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
        resources = self._target_resources()
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
        stopped = []

        def before(server_id):
            # Re-checked before each server (the debt is locked since
            # check_debt_now: a payment waits, this is the last guard).
            message = self.debt_settled_now()
            if message:
                stopped.append(message)
            return message
        outcomes = Resource.remote_action(
            resources, 'delete', wait=self._remote_wait(),
            billing_action=self, before=before)
        if stopped:
            raise BillingOutcomeCancel(stopped[0], outcomes=[
                    (r.id, o) for r, o in outcomes.items()])
        return self._server_outcomes(outcomes)

    def _execute_quota_change(self, date):
        """Apply the quota the new limit gives, read it back, then change
        the line's limit

        The limit (and so the billing) changes only once OpenStack took the
        quota: a refused quota leaves it as it was. It is checked before the
        remote call, so that a quota taken is always billed.
        """
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        line, quantity = self.quota_line, self.quota_quantity
        try:
            Line.check_limit_change(line, quantity, date)
        except LimitChangeError as e:
            raise BillingActionFailure(e.message) from e
        ref = self._apply_quota(date, limits={line.id: quantity})
        Line.change_limit(line, quantity, date, reason=self.reason)
        return ref

    def _execute_quota_set(self, date):
        "Set the project's quota to what the lines give on date"
        return self._apply_quota(date)

    def _apply_quota(self, date, limits=None):
        """Apply the quota the lines give on date and read it back

        limits: {line id: the limit it has from date on}, not recorded yet.
        """
        subscription = self.subscription
        subscription = subscription.__class__(subscription.id)
        try:
            quota = subscription.get_cloud_quota(date, limits=limits)
        except QuotaError as e:
            raise BillingActionFailure(gettext(
                    'cloud_billing.msg_quota_not_integral',
                    line=e.item.rec_name if e.item else '', key=e.key,
                    value=e.value)) from e
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

    # Quota changes by hand (Change Limit, see subscription.py)
    @classmethod
    def plan_quota_change(cls, line, quantity, date, reason=None):
        """Plan the change of the limit of line to quantity from date on

        The limit changes only once OpenStack took the quota
        (_execute_quota_change). Each request is its own step, so not
        ``plan`` (which takes a second change of a day for the first). While
        a quota change of the subscription waits, another is refused: the
        next one starts from the limit its outcome leaves.
        """
        subscription = line.subscription
        with action_path():
            pending = cls.search([
                    ('subscription', '=', subscription.id),
                    ('type', '=', 'quota_change'),
                    ('state', 'in', ['planned', 'running']),
                    ], limit=1)
            if pending:
                raise QuotaChangeError(gettext(
                        'cloud_billing.msg_quota_change_pending',
                        line=line.rec_name, action=pending[0].rec_name))
            action = cls(company=subscription.company,
                subscription=subscription, type='quota_change',
                planned_date=date, reason=reason, actor='user',
                user=Transaction().user or None, state='planned',
                attempts=0, quota_line=line, quota_quantity=quantity)
            action.save()
        return action

    def _finish(self, date, outcome, message=None, external_ref=None):
        super()._finish(date, outcome, message, external_ref)
        if self.type in {'quota_change', 'quota_set'}:
            action = self.__class__(self.id)
            if action.state == 'failed' and action.user:
                action._notify_refused()

    def _notify_refused(self):
        "Tell who asked for the quota that it was not applied (and why)"
        pool = Pool()
        Notification = pool.get('res.notification')
        with without_check_access():
            Notification.save([Notification(
                        user=self.user,
                        label=gettext('cloud_billing.msg_quota_refused_label',
                            subscription=self.subscription.rec_name)[:250],
                        description=(self.last_error or '')[:250],
                        model=self.__class__.__name__,
                        records=json.dumps([self.id]),
                        )])

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
            self._queue_email(follow.email, follow.email_values, date)
        if to_run:
            cls.run(to_run, date)

    def _queue_email(self, kind, values, date):
        """Send the step's email in a task of its own, queued here: it runs
        after the outcome of the step committed, never inside it"""
        cls = self.__class__
        with queue_context(self._email_queue_name()):
            cls.__queue__.send_step_email([self], kind, values, date)

    @classmethod
    def _email_queue_name(cls):
        return 'billing_email'

    @classmethod
    def reap(cls, date=None):
        "The engine's reaper, then the step emails whose task did not end"
        stranded = super().reap(date=date)
        cls.requeue_step_emails()
        return stranded

    @classmethod
    def requeue_step_emails(cls, now=None):
        """Queue again the step emails of the company whose task did not end

        A task that sends a step's email fails when the mail server is down
        or refuses the message (the send fails its commit: nothing is
        recorded as sent) or when its worker dies; trytond does not run a
        failed task again. Each such task (``send_step_email``, not
        finished, queued longer ago than the stranded timeout of its
        action) is replaced by a new one: the email leaves once the mail
        server is back, and at most once per step (send_billing_email).
        Return the new tasks' ids.
        """
        pool = Pool()
        Queue = pool.get('ir.queue')
        if now is None:
            now = datetime.datetime.now()
        company_id = Transaction().context.get('company', -1)
        with without_check_access():
            tasks = [t for t in Queue.search([
                        ('name', '=', cls._email_queue_name()),
                        ('finished_at', '=', None),
                        ], order=[('id', 'ASC')])
                if t.data.get('model') == cls.__name__
                and t.data.get('method') == 'send_step_email'
                and (not t.scheduled_at or t.scheduled_at <= now)]
            actions = {a.id: a for a in cls.search([
                        ('id', 'in', [i for t in tasks
                                for i in t.data.get('instances') or []]),
                        ('company', '=', company_id),
                        ])}
            stale = [t for t in tasks
                if t.data.get('instances')
                and all(i in actions for i in t.data['instances'])
                and t.create_date + max(actions[i].stranded_timeout()
                    for i in t.data['instances']) < now]
            again = [(t.name, t.data) for t in stale]
            Queue.delete(stale)
            return [Queue.push(name, data) for name, data in again]

    @classmethod
    def send_step_email(cls, actions, kind, values, date):
        """Queued task: send the email of kind of the done actions

        At most once per step (send_billing_email); a step done again
        sends nothing more.
        """
        for action in actions:
            if action.state != 'done':
                continue
            action._send_email(kind, values, date)

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
        one sends none. No "restored" email while servers stay shelved by
        a finance manager (a payment does not give them back).
        """
        if kind != 'restored' and not self.invoice:
            return None
        if kind == 'restored' and any(r.shelved_by == 'manager'
                for r in self._cloud_resources()):
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
