# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Usage collection: what each linked project used, as billing_usage events.

The hourly job (``collect_cloud_usage``), the subscription's and the
dashboard's *Collect Usage* buttons queue ``fetch_cloud_usage``, which reads
each project's usage over a window from the cloud (``openstack.py``), cuts it
into hourly events with deterministic transaction ids (``metering.py``) and
hands them to ``billing_usage.event.ingest``, the path of the HTTP route:
collecting a window again never counts anything twice. Each run of a
subscription leaves a ``cloud_billing.usage_collection`` record.
"""
import datetime
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from billing_usage.aggregation import split_days
from billing_usage.boundary import period_start
from billing_usage.payload import MAX_EVENTS
from subscription_core import redaction
from subscription_core.audit import ModuleRecordMixin
from subscription_core.ir import server_now
from subscription_core.validation import InputMixin

from . import metering, openstack
from .exceptions import CloudConnectionError, UsageWindowError

# The first collection of a subscription reaches back at most this far
FIRST_WINDOW = datetime.timedelta(days=1)
# One run collects at most this much; the next run goes on from there
MAX_WINDOW = datetime.timedelta(days=31)
# Rejection messages kept on a collection record
MAX_MESSAGES = 20
# The resources a collection reads, per metric code
RESOURCES = [
    (metering.SERVER_HOURS, 'servers'),
    (metering.VOLUME_GIB_HOURS, 'volumes'),
    (metering.FLOATING_IP_HOURS, 'floating_ips'),
    ]


# The Collect Cloud Usage button of a subscription and of a dashboard row
COLLECT_BUTTON = {
    'invisible': ~Eval('cloud') | (Eval('state') != 'running'),
    'depends': ['cloud', 'state'],
    }


def _window_error(error):
    "The user error of a metering.WindowError"
    return UsageWindowError(gettext(
            'cloud_billing.msg_usage_%s' % error.code, **error.params))


class UsageCollection(ModuleRecordMixin, InputMixin, ModelSQL, ModelView):
    "Cloud Usage Collection"
    __name__ = 'cloud_billing.usage_collection'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True, readonly=True,
        ondelete='CASCADE')
    start = fields.DateTime("Start", required=True, readonly=True,
        help="The window collected is [start, end), in UTC.")
    end = fields.DateTime("End", required=True, readonly=True)
    collected_at = fields.Timestamp("Collected at", readonly=True)
    state = fields.Selection([
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True, sort=False)
    servers = fields.Integer("Servers", readonly=True,
        help="The servers Nova reported usage for.")
    volumes = fields.Integer("Volumes", readonly=True,
        help="The volumes listed; empty when not read.")
    floating_ips = fields.Integer("Floating IPs", readonly=True,
        help="The floating IPs listed; empty when not read.")
    accepted = fields.Integer("Accepted", readonly=True,
        help="The usage events counted for the first time.")
    duplicates = fields.Integer("Duplicates", readonly=True,
        help="The usage events collected before: not counted again.")
    rejected = fields.Integer("Rejected", readonly=True)
    skipped = fields.Text("Skipped", readonly=True,
        help="What the cloud does not offer: not read, not an error.")
    messages = fields.Text("Messages", readonly=True,
        states={
            'invisible': ~Eval('messages'),
            })
    error = fields.Text("Error", readonly=True,
        states={
            'invisible': ~Eval('error'),
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Its own access rows, not the subscription's (sales reads those)
        cls._order = [('end', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return '%s [%s, %s)' % (
            self.subscription.rec_name, self.start, self.end)


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    cloud_usage_until = fields.DateTime(
        "Cloud Usage Collected Until", readonly=True,
        states={
            'invisible': ~Eval('cloud'),
            },
        help="The usage of the project is collected up to this moment "
        "(excluded, UTC); the next collection starts there.")
    cloud_usage_collections = fields.One2Many(
        'cloud_billing.usage_collection', 'subscription',
        "Usage Collections", readonly=True,
        states={
            'invisible': ~Eval('cloud'),
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons['collect_usage'] = dict(COLLECT_BUTTON)

    @classmethod
    def copy(cls, subscriptions, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('cloud_usage_until')
        default.setdefault('cloud_usage_collections')
        return super().copy(subscriptions, default=default)

    @classmethod
    def _server_fields(cls):
        fields_ = super()._server_fields()
        engine = 'subscription_core.msg_subscription_field_engine'
        for name in ['cloud_usage_until', 'cloud_usage_collections']:
            fields_[name] = engine
        return fields_

    @classmethod
    @ModelView.button
    def collect_usage(cls, subscriptions):
        "Collect the project's usage up to the last hour (through ir.queue)"
        subscriptions = [s for s in subscriptions
            if s.cloud and s.project_id and s.state == 'running']
        if subscriptions:
            cls.__queue__.fetch_cloud_usage(
                subscriptions, period_start(server_now(), 'hour'))

    # Scheduled job
    @classmethod
    def collect_cloud_usage(cls, end=None, start=None):
        """Queue the usage collection of the company's cloud subscriptions
        rated from a metric of the collector, for the window [start, end)

        end: a whole hour (naive UTC), by default the last one ended; start:
        by default each subscription's Cloud Usage Collected Until.
        """
        if end is None:
            end = period_start(server_now(), 'hour')
        try:
            metering.check_window(end - metering.HOUR, end)
            if start is not None:
                metering.check_window(start, end)
        except metering.WindowError as error:
            raise _window_error(error)
        company_id = Transaction().context.get('company', -1)
        subscriptions = cls.search([
                ('company', '=', company_id),
                ('state', 'in', ['running', 'closed']),
                ('cloud', '!=', None),
                ('project_id', '!=', None),
                ('start_date', '<=', end.date()),
                ['OR',
                    ('end_date', '=', None),
                    ('end_date', '>=', (end - metering.HOUR).date()),
                    ],
                ('lines.service.usage_metric.code', 'in',
                    [c for c, _ in RESOURCES]),
                ])
        if subscriptions:
            with Transaction().set_context(queue_batch=1):
                cls.__queue__.fetch_cloud_usage(subscriptions, end, start)
        return subscriptions

    def _usage_window(self, end, start=None):
        "The window [start, end) to collect for the subscription"
        if start is None:
            first = datetime.datetime.combine(self.start_date, datetime.time())
            start = self.cloud_usage_until or max(first, end - FIRST_WINDOW)
        return start, min(end, start + MAX_WINDOW)

    def _usage_metrics(self):
        "{metric code: billing_usage.metric} of the usage lines"
        metrics = {}
        for line in self.lines:
            metric = line.service.usage_metric if line.service else None
            if line.billing_type == 'usage' and metric:
                metrics[metric.code] = metric
        return metrics

    @classmethod
    def fetch_cloud_usage(cls, subscriptions, end, start=None):
        """Collect each project's usage over [start, end) from its cloud

        Reads Nova's usage, and the volumes and floating IPs when the
        subscription is rated from their metrics and the cloud has the API
        (else skipped, noted), and ingests the hourly events. A failure is
        recorded on the collection, never raised: the other projects are
        still collected, and the next run collects the window again.
        """
        pool = Pool()
        Collection = pool.get('cloud_billing.usage_collection')
        now = server_now()
        connections = {}
        records, until = [], {}
        for subscription in cls.browse(subscriptions):
            if not (subscription.cloud and subscription.project_id
                    and subscription.state in {'running', 'closed'}):
                continue
            window = subscription._usage_window(end, start)
            if window[0] >= window[1] and start is None:
                # Collected up to end already
                continue
            try:
                metering.check_window(*window, now=now)
            except metering.WindowError as error:
                raise _window_error(error)
            record = Collection(
                company=subscription.company, subscription=subscription,
                start=window[0], end=window[1], collected_at=now,
                state='done', accepted=0, duplicates=0, rejected=0)
            records.append(record)
            conn = subscription.cloud.connect_once(connections)
            try:
                if isinstance(conn, CloudConnectionError):
                    raise openstack.RemoteError(openstack.FAILED, conn.message)
                events = subscription._collect_usage(conn, record, *window)
            except openstack.RemoteError as e:
                record.state = 'failed'
                record.error = redaction.redact(gettext(
                        'cloud_billing.msg_usage_failed',
                        project=subscription.project_id,
                        cloud=subscription.cloud.rec_name, error=e.message))
                continue
            subscription._ingest_usage(record, events)
            if (subscription.cloud_usage_until or window[0]) >= window[0]:
                until[subscription] = max(
                    subscription.cloud_usage_until or window[1], window[1])
        with without_check_access():
            Collection.save(records)
            to_write = []
            for subscription, value in until.items():
                to_write.extend(([subscription], {'cloud_usage_until': value}))
            if to_write:
                cls.write(*to_write)
        return records

    def _collect_usage(self, conn, record, start, end):
        """The usage events of the project over [start, end): read what
        the lines are rated from; raise openstack.RemoteError"""
        cloud = '%s/%s' % (self.cloud.entry, self.cloud.region)
        project_id = self.project_id
        metrics = self._usage_metrics()
        events, skipped = [], []
        if metering.SERVER_HOURS in metrics:
            servers = set()
            for _, piece_start, piece_end in split_days(start, end):
                usages = openstack.server_usage(
                    conn, project_id, piece_start, piece_end)
                servers.update(u['instance_id'] for u in usages)
                events += metering.server_events(
                    cloud, project_id, usages, piece_start, piece_end)
            record.servers = len(servers)
        if metering.VOLUME_GIB_HOURS in metrics:
            volumes = openstack.list_volumes(conn, project_id)
            if volumes is None:
                skipped.append(gettext('cloud_billing.msg_usage_no_volumes'))
            else:
                record.volumes = len(volumes)
                events += metering.volume_events(
                    cloud, project_id, volumes, start, end)
        if metering.FLOATING_IP_HOURS in metrics:
            addresses = openstack.list_floating_ips(conn, project_id)
            if addresses is None:
                skipped.append(
                    gettext('cloud_billing.msg_usage_no_floating_ips'))
            else:
                record.floating_ips = len(addresses)
                events += metering.floating_ip_events(
                    cloud, project_id, addresses, start, end)
        record.skipped = '\n'.join(skipped) or None
        return events

    def _ingest_usage(self, record, events):
        """Ingest the events of the days a usage line is rated from their
        metric (the others would be refused) and count on record"""
        pool = Pool()
        Event = pool.get('billing_usage.event')
        metrics = self._usage_metrics()
        # The lines as the ingestion reads them (billed days per metric)
        target = Event._ingest_subscriptions(
            {self.number}, self.company.id)[self.number]
        billable = []
        for event in events:
            metric = metrics.get(event['metric'])
            if metric and target.line(
                    metric.id, event['timestamp'].date()):
                billable.append(dict(event, subscription=self.number))
        messages = defaultdict(int)
        with Transaction().set_context(company=self.company.id):
            for batch in grouped_slice(billable, MAX_EVENTS):
                for result in Event.ingest(list(batch)):
                    if result['status'] == 'accepted':
                        record.accepted += 1
                    elif result['status'] == 'duplicate':
                        record.duplicates += 1
                    else:
                        record.rejected += 1
                        messages[result['message']] += 1
        if messages:
            record.messages = '\n'.join('%s (%s)' % (m, n)
                for m, n in list(messages.items())[:MAX_MESSAGES])


class Dashboard(metaclass=PoolMeta):
    __name__ = 'cloud_billing.dashboard'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons['collect_usage'] = dict(COLLECT_BUTTON)

    @classmethod
    @ModelView.button
    def collect_usage(cls, rows):
        "Collect the subscriptions' cloud usage (finance)"
        Subscription = Pool().get('sale.subscription')
        Subscription.collect_usage(
            Subscription.browse([r.subscription.id for r in rows]))
