# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Usage collection against the fake OpenStack (Nova usage, Cinder volumes,
Neutron floating IPs): events through billing_usage's ingest, billed once
however often a window is collected."""
import datetime
import unittest
from decimal import Decimal

from trytond.model.exceptions import AccessButtonError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from cloud_billing import metering
from subscription_core.ir import travel

from ..exceptions import UsageWindowError
from . import test_action
from .test_module import OTHER, PROJECT

DT = datetime.datetime
D = datetime.date


class UsageCollectionTestCase(test_action.ActionTestMixin, unittest.TestCase):
    "Usage collected from the fake cloud"
    maxDiff = None

    def setUp(self):
        super().setUp()
        self.cloud.block_storage = True
        self.cloud.network = True

    def usage_subscription(self, company):
        "A subscription of PROJECT rated from the three default metrics"
        pool = Pool()
        Metric = pool.get('billing_usage.metric')
        Service = pool.get('sale.subscription.service')
        Line = pool.get('sale.subscription.line')
        Subscription = pool.get('sale.subscription')
        Uom = pool.get('product.uom')
        metrics = Metric.create([dict(m, company=company.id)
                for m in metering.METRICS])
        # The rows' quantities have 6 decimals: so must the unit
        hour, = Uom.search([('name', '=', "Hour")])
        unit, = Uom.copy([hour], {
                'name': "Metered hour", 'rounding': Decimal('0.000001'),
                'digits': 6})
        services = []
        for metric in metrics:
            service = self.create_service(metric.name, unit=unit)
            Service.write([service], {
                    'billing_type': 'usage', 'billing_period': 'month',
                    'usage_metric': metric.id})
            services.append(service)
        subscription = self.create_subscription(
            company, [(s, 1) for s in services], run=False)
        Line.write(list(subscription.lines), {'billing_type': 'usage'})
        Subscription.quote([subscription])
        Subscription.run([subscription])
        return Subscription(subscription.id)

    def collect(self, subscription, start, end):
        Subscription = Pool().get('sale.subscription')
        with Transaction().set_context(cloud_billing_connection='fake'):
            record, = Subscription.fetch_cloud_usage(
                [subscription], end, start)
        return record

    def quantities(self):
        "{(metric, group, day): quantity} of the daily rows"
        Row = Pool().get('billing_usage.row')
        return {(r.metric.code, r.group_value or '', r.day): r.quantity
            for r in Row.search([])}

    def project_usage(self):
        """In PROJECT: web (m1.small) runs from 22:30 on 1 March; db
        (m1.tiny) from 22:30 to 01:15; a 50 GiB volume and a floating IP
        from 22:30. OTHER has a server and a volume too."""
        self.cloud.now = DT(2026, 3, 1, 22, 30)
        self.cloud.add_server(PROJECT, name='web', flavor='m1.small')
        db = self.cloud.add_server(PROJECT, name='db', flavor='m1.tiny')
        self.cloud.add_volume(PROJECT, 50)
        self.cloud.add_floating_ip(PROJECT, '203.0.113.7')
        self.cloud.add_server(OTHER, name='foreign')
        self.cloud.add_volume(OTHER, 500)
        self.cloud.now = DT(2026, 3, 2, 1, 15)
        conn = self.cloud.connection()
        conn.compute.delete_server(db.id)
        while db.id in self.cloud.servers:
            self.cloud._advance(db)

    @with_transaction()
    def test_collect_split_and_billed_once(self):
        "A window across midnight, collected again: billed once"
        pool = Pool()
        Row = pool.get('billing_usage.row')
        Event = pool.get('billing_usage.event')
        Subscription = pool.get('sale.subscription')
        company = create_company()
        with set_company(company):
            subscription = self.usage_subscription(company)
            self.project_usage()

            record = self.collect(
                subscription, DT(2026, 3, 1, 22), DT(2026, 3, 2, 2))
            self.assertEqual(
                (record.state, record.servers, record.volumes,
                    record.floating_ips, record.accepted, record.duplicates,
                    record.rejected, record.skipped, record.error),
                ('done', 2, 1, 1, 4 + 4 + 4 + 4, 0, 0, None, None))
            self.assertEqual(
                Subscription(subscription.id).cloud_usage_until,
                DT(2026, 3, 2, 2))

            # The same window again, and an hour of it: nothing new
            again = self.collect(
                subscription, DT(2026, 3, 1, 22), DT(2026, 3, 2, 2))
            hour = self.collect(
                subscription, DT(2026, 3, 2, 0), DT(2026, 3, 2, 1))
            self.assertEqual(
                [(r.accepted, r.duplicates, r.rejected)
                    for r in [again, hour]],
                [(0, 16, 0), (0, 4, 0)])
            self.assertEqual(Event.search([], count=True), 16)

            Row.generate(D(2026, 3, 3))
            self.assertEqual(self.quantities(), {
                    (metering.SERVER_HOURS, 'm1.small', D(2026, 3, 1)):
                        Decimal('1.5'),
                    (metering.SERVER_HOURS, 'm1.tiny', D(2026, 3, 1)):
                        Decimal('1.5'),
                    (metering.SERVER_HOURS, 'm1.small', D(2026, 3, 2)):
                        Decimal('2'),
                    (metering.SERVER_HOURS, 'm1.tiny', D(2026, 3, 2)):
                        Decimal('1.25'),
                    (metering.VOLUME_GIB_HOURS, '', D(2026, 3, 1)):
                        Decimal('75'),
                    (metering.VOLUME_GIB_HOURS, '', D(2026, 3, 2)):
                        Decimal('100'),
                    (metering.FLOATING_IP_HOURS, '', D(2026, 3, 1)):
                        Decimal('1.5'),
                    (metering.FLOATING_IP_HOURS, '', D(2026, 3, 2)):
                        Decimal('2'),
                    })
            consumptions = sorted(
                c.quantity for r in Row.search([]) for c in r.consumptions)
            self.assertEqual(consumptions, sorted(
                    float(q) for q in self.quantities().values()))

            # A later collection from the watermark: the next hours only
            self.cloud.now = DT(2026, 3, 2, 5)
            later = self.collect(subscription, None, DT(2026, 3, 2, 4))
            self.assertEqual(
                (later.start, later.end, later.accepted, later.duplicates),
                (DT(2026, 3, 2, 2), DT(2026, 3, 2, 4), 6, 0))

    @with_transaction()
    def test_cloud_without_cinder_and_neutron(self):
        "No block storage or network API: skipped and noted, not an error"
        company = create_company()
        with set_company(company):
            subscription = self.usage_subscription(company)
            self.cloud.block_storage = False
            self.cloud.network = False
            self.project_usage()

            record = self.collect(
                subscription, DT(2026, 3, 1, 22), DT(2026, 3, 2))
            self.assertEqual(
                (record.state, record.servers, record.volumes,
                    record.floating_ips, record.accepted, record.error),
                ('done', 2, None, None, 4, None))
            self.assertEqual(record.skipped.splitlines(), [
                    "Volumes: the cloud has no block storage API (Cinder).",
                    "Floating IPs: the cloud has no network API (Neutron).",
                    ])
            self.assertEqual(
                [m for m, _ in self.cloud.actions('GET')
                    if 'volume' in _ or 'floatingips' in _], [])

    @with_transaction()
    def test_remote_failure_recorded(self):
        "Nova fails: recorded, nothing ingested, the window stays to do"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        company = create_company()
        with set_company(company):
            subscription = self.usage_subscription(company)
            self.project_usage()
            self.cloud.inject('get_usage', fault=503)

            record = self.collect(
                subscription, DT(2026, 3, 1, 22), DT(2026, 3, 2))
            self.assertEqual(
                (record.state, record.accepted), ('failed', 0))
            self.assertIn(
                "The usage of project %s could not be read from the cloud "
                '"Region One": ' % PROJECT, record.error)
            self.assertIn("Injected fault 503 on get_usage.", record.error)
            self.assertIsNone(
                Subscription(subscription.id).cloud_usage_until)

            record = self.collect(subscription, None, DT(2026, 3, 2))
            self.assertEqual(
                (record.state, record.start, record.accepted),
                ('done', DT(2026, 3, 1), 2 + 2 + 2 + 2))

    @with_transaction()
    def test_only_days_with_a_line(self):
        "Usage outside the lines (before the start) is not sent"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        company = create_company()
        with set_company(company):
            subscription = self.usage_subscription(company)
            self.project_usage()
            volume_line = [l for l in subscription.lines
                if l.service.usage_metric.code
                == metering.VOLUME_GIB_HOURS][0]
            Line.write([volume_line], {'end_date': D(2026, 3, 1)})

            record = self.collect(
                subscription, DT(2026, 3, 1, 22), DT(2026, 3, 2, 2))
            self.assertEqual(
                (record.accepted, record.rejected), (4 + 4 + 2 + 4, 0))

    @with_transaction()
    def test_windows_refused(self):
        "A window not on whole hours, or ending after now, is refused"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        company = create_company()
        with set_company(company):
            subscription = self.usage_subscription(company)
            with self.assertRaises(UsageWindowError) as cm:
                Subscription.collect_cloud_usage(DT(2026, 3, 2, 1, 30))
            self.assertEqual(cm.exception.message,
                "The usage window moment 2026-03-02 01:30:00 must be a "
                "whole hour.")
            with self.assertRaises(UsageWindowError) as cm:
                Subscription.collect_cloud_usage(
                    DT(2026, 3, 2), DT(2026, 3, 2, 1))
            self.assertEqual(cm.exception.message,
                "The usage window must start (2026-03-02 01:00:00) before "
                "it ends (2026-03-02 00:00:00).")
            future = DT.now().replace(
                minute=0, second=0, microsecond=0) + datetime.timedelta(
                hours=2)
            with self.assertRaises(UsageWindowError) as cm:
                self.collect(subscription, future - metering.HOUR, future)
            self.assertTrue(cm.exception.message.startswith(
                    "The usage window cannot end at %s, after now" % future))

    @with_transaction()
    def test_cron_selects_rated_cloud_subscriptions(self):
        "The job queues the cloud subscriptions rated from the metrics"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Queue = pool.get('ir.queue')
        company = create_company()
        with set_company(company):
            subscription = self.usage_subscription(company)
            vcpu = self.create_service("vCPU")
            self.create_subscription(
                company, [(vcpu, 1)], project_id=OTHER,
                cloud=subscription.cloud)

            selected = Subscription.collect_cloud_usage(DT(2026, 3, 2))
            self.assertEqual(selected, [subscription])
            task, = Queue.search([
                    ('data.model', '=', 'sale.subscription'),
                    ('data.method', '=', 'fetch_cloud_usage'),
                    ])
            self.assertEqual(list(task.data['instances']), [subscription.id])

    def user(self, company, login, groups):
        "A user of company in the groups (XML ids of subscription_core)"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user = User(login=login, name=login, companies=[company],
            company=company, groups=[
                ModelData.get_id('subscription_core', g) for g in groups])
        user.save()
        return user

    @with_transaction()
    def test_dashboard_button_collects_row_subscription(self):
        "Collect Cloud Usage on a dashboard row, as finance: its subscription"
        pool = Pool()
        Dashboard = pool.get('cloud_billing.dashboard')
        Subscription = pool.get('sale.subscription')
        Queue = pool.get('ir.queue')
        Collection = pool.get('cloud_billing.usage_collection')
        company = create_company()
        with set_company(company):
            subscription = self.usage_subscription(company)
            # Another running cloud subscription: its row is not clicked
            vcpu = self.create_service("vCPU")
            other = self.create_subscription(
                company, [(vcpu, 1)], project_id=OTHER,
                cloud=subscription.cloud)
            self.project_usage()
            finance = self.user(company, 'finance', ['group_billing_finance'])
            support = self.user(company, 'support', ['group_billing_support'])
            row, = Dashboard.search([('subscription', '=', subscription.id)])

            with travel(D(2026, 3, 2)):
                # As the client calls it: with the user's access checked
                with Transaction().set_user(support.id), \
                        Transaction().set_context(_check_access=True), \
                        self.assertRaises(AccessButtonError):
                    Dashboard.collect_usage([Dashboard(row.id)])
                self.assertEqual(Queue.search([], count=True), 0)

                with Transaction().set_user(finance.id), \
                        Transaction().set_context(_check_access=True):
                    Dashboard.collect_usage([Dashboard(row.id)])

            task, = Queue.search([])
            self.assertEqual(
                (task.data['model'], task.data['method'],
                    list(task.data['instances'])),
                ('sale.subscription', 'fetch_cloud_usage', [subscription.id]))
            end, = task.data['args']
            # The last hour ended on the server's day
            self.assertEqual((end.date(), end.minute, end.second),
                (D(2026, 3, 2), 0, 0))

            # The worker runs the task against the (fake) cloud
            self.cloud.now = DT(2026, 3, 3)
            with travel(D(2026, 3, 2)), \
                    Transaction().set_context(
                        cloud_billing_connection='fake'):
                Subscription.fetch_cloud_usage(
                    Subscription.browse(task.data['instances']),
                    *task.data['args'])
            record, = Collection.search([])
            self.assertEqual(
                (record.subscription, record.state, record.end,
                    record.servers, record.volumes, record.floating_ips,
                    record.rejected),
                (subscription, 'done', end, 2, 1, 1, 0))
            self.assertGreater(record.accepted, 0)
            self.assertEqual(
                Subscription(subscription.id).cloud_usage_until, end)
            self.assertEqual(Subscription(other.id).cloud_usage_until, None)
