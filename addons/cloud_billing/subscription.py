# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
from collections import defaultdict
from functools import partial

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access

from subscription_core import redaction
from subscription_core.charge import quantity_at

from . import grace, openstack
from .exceptions import (
    CloudConnectionError, CloudProjectError, QuotaChangeError,
    QuotaMappingError)
from .quota import QuotaError, format_quota, project_quota
from subscription_core.validation import InputMixin

CLOUD_BILLING_STATUSES = [
    ('shelved', "Shelved"),
    ('pending_deletion', "Pending Deletion"),
    ('deleted', "Deleted"),
    ]


class Subscription(InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    cloud = fields.Many2One(
        'cloud_billing.cloud', "Cloud", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="The OpenStack cloud and region of the project.\n"
        "Once the subscription left draft, only a finance manager changes "
        "it, with the Re-link Project action.")
    project_id = fields.Char(
        "Project ID", strip=True,
        states={
            'required': Bool(Eval('cloud')),
            'invisible': ~Eval('cloud'),
            'readonly': Eval('state') != 'draft',
            },
        help="The OpenStack project (tenant) this subscription bills.\n"
        "Once the subscription left draft, only a finance manager changes "
        "it, with the Re-link Project action.")
    region = fields.Function(
        fields.Char("Region"), 'on_change_with_region',
        searcher='search_region')
    cloud_resources = fields.One2Many(
        'cloud_billing.resource', 'subscription', "Cloud Resources",
        readonly=True,
        states={
            'invisible': ~Eval('cloud'),
            })
    cloud_synced_at = fields.Timestamp(
        "Last Cloud Sync", readonly=True,
        states={
            'invisible': ~Eval('cloud'),
            })
    cloud_sync_error = fields.Text(
        "Cloud Sync Error", readonly=True,
        states={
            'invisible': ~Eval('cloud_sync_error'),
            })
    cloud_shelved_date = fields.Date(
        "Shelved on", readonly=True,
        states={
            'invisible': ~Eval('cloud_shelved_date'),
            },
        help="The day billing shelved the project's servers.")
    cloud_deletion_date = fields.Date(
        "Deletion Date", readonly=True,
        states={
            'invisible': ~Eval('cloud_deletion_date'),
            },
        help="The day the shelved servers are deleted unless the debt is "
        "paid.")
    cloud_restore_deadline = fields.Date(
        "Restorable Until", readonly=True,
        states={
            'invisible': ~Eval('cloud_restore_deadline'),
            },
        help="The last day a payment restores the deleted servers (the "
        "cloud keeps them soft-deleted for its reclaim interval); the "
        "subscription closes the day after.")
    cloud_quota = fields.Function(
        fields.Char("Cloud Quota",
            states={
                'invisible': ~Eval('cloud'),
                },
            help="The project quota the subscription lines give today."),
        'get_cloud_quota_text')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        selection = list(cls.billing_status.selection)
        for value in CLOUD_BILLING_STATUSES:
            if value not in selection:
                selection.append(value)
        cls.billing_status.selection = selection
        cls._buttons.update({
                'sync_resources': {
                    'invisible': (~Eval('cloud')
                        | (Eval('state') != 'running')),
                    'depends': ['cloud', 'state'],
                    },
                })

    @fields.depends('cloud')
    def on_change_with_region(self, name=None):
        # Only managers read the cloud's configuration; everybody who reads
        # the subscription sees its region.
        if self.cloud:
            with without_check_access():
                return self.cloud.__class__(self.cloud.id).region

    @classmethod
    def search_region(cls, name, clause):
        return [('cloud.region',) + tuple(clause[1:])]

    @classmethod
    def copy(cls, subscriptions, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('cloud_resources')
        default.setdefault('cloud_synced_at')
        default.setdefault('cloud_sync_error')
        default.setdefault('cloud_shelved_date')
        default.setdefault('cloud_deletion_date')
        default.setdefault('cloud_restore_deadline')
        return super().copy(subscriptions, default=default)

    def cloud_reclaim_seconds(self):
        "The reclaim interval of the subscription's cloud (0: none)"
        if not self.cloud:
            return 0
        # Only managers read the clouds; the workflow runs for everybody.
        with without_check_access():
            cloud = self.cloud.__class__(self.cloud.id)
            return cloud.reclaim_seconds or 0

    def cloud_deletion_reclaim_seconds(self):
        """The reclaim interval a deletion of the servers gets: 0 when no
        recorded server is left that Nova would keep SOFT_DELETED (Nova
        deletes a SHELVED_OFFLOADED server, which has no host, at once,
        whatever its interval)"""
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with without_check_access():
            kept = Resource.search([
                    ('subscription', '=', self.id),
                    ('gone', '=', False),
                    ['OR',
                        ('status', '=', None),
                        ('status', 'not in',
                            list(openstack.SHELVED_OFFLOADED)),
                        ],
                    ], limit=1)
        if not kept:
            return 0
        return self.cloud_reclaim_seconds()

    def _restore_action_type(self):
        """A cloud subscription whose servers billing shelved is unshelved,
        one whose servers billing deleted, still restorable, undeleted"""
        if self.cloud and self.billing_status in {
                'shelved', 'pending_deletion'}:
            return 'unshelve'
        if self.cloud and self.billing_status == 'deleted':
            return 'undelete'
        return super()._restore_action_type()

    @classmethod
    def on_debt_paid(cls, subscriptions, invoices, date):
        """A deleted subscription is given back only while restorable

        A payment on or before its restore deadline undeletes its servers;
        a later one (or on a cloud without reclaim interval) gives nothing
        back. Its planned actions on the debt are still cancelled (the
        engine cancels by invoice; the close deferred to the deadline is
        not about the debt).
        """
        super().on_debt_paid(
            [s for s in cls.browse(subscriptions)
                if s.billing_status != 'deleted'
                or grace.restorable(s.cloud_restore_deadline, date)],
            invoices, date)

    def _prepaid_invoice_lead(self):
        "The renewal invoice of a cloud subscription comes ahead of its term"
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration')
        if not self.cloud or not self.company:
            return super()._prepaid_invoice_lead()
        return grace.lead_days(Configuration(1).get_multivalue(
                'pre_expiry_days', company=self.company.id))

    @classmethod
    def validate_fields(cls, subscriptions, field_names):
        super().validate_fields(subscriptions, field_names)
        cls.check_cloud_project(subscriptions, field_names)

    @classmethod
    def _server_fields(cls):
        "The cloud state is written by the sync and the billing actions"
        fields_ = super()._server_fields()
        engine = 'subscription_core.msg_subscription_field_engine'
        for name in ['cloud_resources', 'cloud_synced_at', 'cloud_sync_error',
                'cloud_shelved_date', 'cloud_deletion_date',
                'cloud_restore_deadline']:
            fields_[name] = engine
        return fields_

    @classmethod
    def _draft_fields(cls):
        "The project changes by hand only while draft, then by re-link"
        fields_ = super()._draft_fields()
        for name in ['cloud', 'project_id']:
            fields_[name] = 'cloud_billing.msg_subscription_project_draft'
        return fields_

    @classmethod
    def check_cloud_project(cls, subscriptions, field_names=None):
        "One running subscription per project of a cloud"
        if field_names and not (
                field_names & {'cloud', 'project_id', 'state'}):
            return
        for subscription in subscriptions:
            if not subscription.cloud:
                continue
            project_id = subscription.project_id or ''
            if not project_id or any(c.isspace() for c in project_id):
                raise CloudProjectError(gettext(
                        'cloud_billing.msg_project_id_invalid',
                        subscription=subscription.rec_name,
                        project=project_id))
            if subscription.state != 'running':
                continue
            others = cls.search([
                    ('id', '!=', subscription.id),
                    ('cloud', '=', subscription.cloud.id),
                    ('project_id', '=', project_id),
                    ('state', '=', 'running'),
                    ], limit=1)
            if others:
                other, = others
                raise CloudProjectError(gettext(
                        'cloud_billing.msg_project_in_use',
                        subscription=subscription.rec_name,
                        project=project_id,
                        cloud=subscription.cloud.rec_name,
                        other=other.rec_name))

    def get_cloud_quota(self, date, limits=None):
        """The project quota the lines give on date: {key: limit}

        Each line of a service with a quota key counts its limit in force
        on date × the service's multiplier; limits ({line id: limit}) gives
        the limit of lines whose change is not recorded yet.
        """
        limits = limits or {}
        items = []
        for line in self.lines:
            service = line.service
            if (not service or not service.quota_key
                    or line.billing_type not in {'limit', 'fixed'}):
                continue
            if line.billing_start > date or (
                    line.billing_end and line.billing_end <= date):
                continue
            if line.id in limits:
                quantity = limits[line.id]
            else:
                initial, changes = line.limit_history
                quantity = quantity_at(initial, changes, date)
            items.append((service.quota_key, quantity,
                    service.quota_multiplier or 1, line))
        return project_quota(items)

    def get_cloud_quota_text(self, name):
        if not self.cloud:
            return None
        date = Pool().get('ir.date').today()
        try:
            return format_quota(self.get_cloud_quota(date))
        except QuotaError as e:
            return gettext('cloud_billing.msg_quota_not_integral',
                line=e.item.rec_name if e.item else '', key=e.key,
                value=e.value)

    @classmethod
    def apply_cloud_quota(cls, subscriptions, date=None):
        """Set each project's quota to what the lines give on date

        Returns {subscription: openstack.QuotaOutcome}; records nothing.
        The remote calls are slow: call this from an ir.queue task.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        outcomes = {}
        connections = {}
        for subscription in subscriptions:
            if not subscription.cloud or not subscription.project_id:
                continue
            quota = subscription.get_cloud_quota(date)
            cloud = subscription.cloud
            conn = cloud.connect_once(connections)
            if isinstance(conn, CloudConnectionError):
                outcomes[subscription] = openstack.QuotaOutcome(
                    project_id=subscription.project_id,
                    result=openstack.FAILED, requested=quota,
                    error=conn.message)
            else:
                outcomes[subscription] = openstack.quota_change(
                    conn, subscription.project_id, quota)
        return outcomes

    def drives_quota(self):
        "Whether a line of the subscription sets its project's quota"
        return bool(self.cloud and self.project_id
            and any(l.drives_quota() for l in self.lines))

    @classmethod
    def run(cls, subscriptions):
        """A cloud subscription that starts running sets its quota

        A quota_set action, planned for its start (today at the earliest),
        applies in OpenStack what the lines give; run now (queued) when due.
        """
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Date = pool.get('ir.date')
        starting = [s.id for s in subscriptions if s.state != 'running']
        super().run(subscriptions)
        today = Date.server_today()
        by_date = defaultdict(list)
        for subscription in cls.browse(starting):
            if (subscription.state == 'running'
                    and subscription.drives_quota()):
                date = max(subscription.start_date, today)
                by_date[date].append(Action.plan(
                        subscription, 'quota_set', date, actor='user'))
        for date, actions in by_date.items():
            if date <= today:
                Action.run(actions, date)

    @classmethod
    @ModelView.button
    def sync_resources(cls, subscriptions):
        "Record the project's servers now (through ir.queue)"
        subscriptions = [s for s in subscriptions
            if s.cloud and s.project_id and s.state == 'running']
        if subscriptions:
            cls.__queue__.fetch_cloud_resources(subscriptions)

    # Scheduled job
    @classmethod
    def sync_cloud_resources(cls, date=None):
        "Queue the sync of every running cloud subscription of the company"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        company_id = Transaction().context.get('company', -1)
        subscriptions = cls.search([
                ('company', '=', company_id),
                ('state', '=', 'running'),
                ('cloud', '!=', None),
                ('project_id', '!=', None),
                ('start_date', '<=', date),
                ['OR',
                    ('end_date', '=', None),
                    ('end_date', '>=', date),
                    ],
                ])
        if subscriptions:
            with Transaction().set_context(queue_batch=1):
                cls.__queue__.fetch_cloud_resources(subscriptions)
        return subscriptions

    @classmethod
    def fetch_cloud_resources(cls, subscriptions):
        """List each project's servers in Nova and record them

        A failure is written on the subscription (cloud_sync_error), never
        raised: the other projects still sync.
        """
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        now = datetime.datetime.now()
        by_cloud = defaultdict(list)
        for subscription in subscriptions:
            if (subscription.cloud and subscription.project_id
                    and subscription.state == 'running'):
                by_cloud[subscription.cloud].append(subscription)
        errors = {}
        synced = []
        for cloud, cloud_subscriptions in by_cloud.items():
            try:
                conn = cloud.connect()
            except CloudConnectionError as e:
                for subscription in cloud_subscriptions:
                    errors[subscription] = e.message
                continue
            for subscription in cloud_subscriptions:
                project_id = subscription.project_id
                try:
                    servers = openstack.list_servers(conn, project_id)
                    # A server left out of the listing is read on its own
                    # before it counts as gone; a failed read raises before
                    # anything is recorded.
                    Resource.record_servers(subscription, servers, now,
                        partial(openstack.confirm_missing, conn,
                            project_id=project_id))
                except openstack.RemoteError as e:
                    errors[subscription] = gettext(
                        'cloud_billing.msg_cloud_sync_failed',
                        project=subscription.project_id,
                        cloud=cloud.rec_name, error=e.message)
                    continue
                synced.append(subscription)
        to_write = []
        if synced:
            to_write.extend((synced, {
                        'cloud_synced_at': now,
                        'cloud_sync_error': None,
                        }))
        for subscription, error in errors.items():
            to_write.extend(([subscription], {
                        'cloud_sync_error': redaction.redact(error)}))
        if to_write:
            cls.write(*to_write)


class Line(InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription.line'

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        cls.check_cloud_quota(lines, field_names)

    def drives_quota(self):
        "Whether the limit of the line sets a quota of its cloud project"
        return bool(self.service and self.service.quota_key
            and self.billing_type in {'limit', 'fixed'})

    @classmethod
    def request_limit_change(cls, line, quantity, date, reason=None):
        """The limit of a line that sets a quota changes in OpenStack first

        Checked here, then a quota_change action applies the quota and, in
        the same transaction, the limit (see action.py): a quota OpenStack
        refuses leaves the limit and the billing as they were. From today
        on at the earliest: the quota cannot apply to past days. A change
        from a later day waits for the billing actions job of that day.
        """
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Date = pool.get('ir.date')
        subscription = line.subscription
        if not (subscription.cloud and line.drives_quota()):
            return super().request_limit_change(
                line, quantity, date, reason=reason)
        cls.check_limit_change(line, quantity, date)
        today = Date.server_today()
        if date < today:
            raise QuotaChangeError(gettext(
                    'cloud_billing.msg_quota_limit_past',
                    line=line.rec_name, project=subscription.project_id,
                    today=today, date=date))
        cls._check_quota_quantity(line, quantity)
        action = Action.plan_quota_change(line, quantity, date, reason=reason)
        if date <= today:
            Action.run([action], date)
        return action

    @classmethod
    def check_cloud_quota(cls, lines, field_names=None):
        "The limit × multiplier of a quota line is a whole number"
        if field_names and not (field_names & {'quantity', 'service'}):
            return
        for line in lines:
            cls._check_quota_quantity(line, line.quantity)

    @classmethod
    def _check_quota_quantity(cls, line, quantity):
        service = line.service
        if not service or not service.quota_key:
            return
        try:
            project_quota([(service.quota_key, quantity,
                        service.quota_multiplier or 1, line)])
        except QuotaError as e:
            raise QuotaMappingError(gettext(
                    'cloud_billing.msg_quota_not_integral',
                    line=line.rec_name, key=e.key, value=e.value)) from e
