# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
import json
from decimal import Decimal

from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.currency.tests import create_currency
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from cloud_pricing.catalog import is_stale
from cloud_pricing.exceptions import CatalogSyncError, PricingError
from cloud_pricing.tests.tools import CatalogServer, catalog_text

SYNCED = [
    'cloud_pricing.sla_tier', 'cloud_pricing.service_pricing',
    'cloud_pricing.sla_surcharge', 'cloud_pricing.compute_plan',
    'cloud_pricing.storage', 'cloud_pricing.discount_bracket',
    'cloud_pricing.component_spec', 'cloud_pricing.csp_resource',
    'cloud_pricing.plan_assignment',
    ]


def snapshot():
    "Every catalog entry, inactive ones too, as comparable tuples"
    pool = Pool()
    result = {}
    with Transaction().set_context(active_test=False):
        for name in SYNCED:
            Model = pool.get(name)
            fields = sorted(n for n in Model._fields
                if n not in {'stale', 'create_date', 'write_date',
                    'create_uid', 'write_uid', 'rec_name'}
                and not hasattr(Model._fields[n], 'get'))
            result[name] = sorted(
                tuple(str(getattr(r, f)) for f in fields)
                for r in Model.search([]))
    return result


class CloudPricingTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Cloud Pricing module"
    module = 'cloud_pricing'

    def setUp(self):
        super().setUp()
        self.server = CatalogServer({'/catalog.json': catalog_text()})
        self.server.start()
        self.addCleanup(self.server.stop)

    def sync(self):
        "Fetch and apply the catalog (what the queued task does)"
        Catalog = Pool().get('cloud_pricing.catalog')
        return Catalog.fetch_and_apply()

    def test_stale_rule(self):
        now = datetime.datetime(2026, 3, 1, 12)
        day = datetime.timedelta(hours=24)
        self.assertTrue(is_stale(None, now, day))
        self.assertFalse(is_stale(now - day, now, day))
        self.assertTrue(is_stale(now - day - datetime.timedelta(seconds=1),
                now, day))

    @with_transaction()
    def test_sync_creates(self):
        "A first sync creates every entry and the plan assignments"
        create_currency('USD')
        result = self.sync()
        self.assertEqual(result['cloud_pricing.compute_plan'], (3, 0, 0))
        self.assertEqual(result['cloud_pricing.plan_assignment'], (3, 0, 0))
        pool = Pool()
        Assignment = pool.get('cloud_pricing.plan_assignment')
        self.assertEqual([(a.service, a.plan, a.sort_order,
                    a.proposed_storage_gib) for a in Assignment.search([])], [
                ('nextcloud', 'standard-2', 10, None),
                ('nextcloud', 'standard-8', 20, 50),
                ('redis', 'standard-2', 10, None),
                ])
        Pricing = pool.get('cloud_pricing.service_pricing')
        nextcloud, = Pricing.search([('service', '=', 'nextcloud')])
        self.assertEqual(nextcloud.base_fee, Decimal('50.00'))
        self.assertFalse(nextcloud.stale)
        self.assertEqual(Pricing.search([('stale', '=', True)]), [])
        self.server.set_option('stale_hours', '0')
        self.assertEqual(len(Pricing.search([('stale', '=', True)])), 2)

    @with_transaction()
    def test_sync_updates_and_deactivates(self):
        "A second sync updates, deactivates and re-activates to match"
        create_currency('USD')
        self.sync()
        document = json.loads(catalog_text())
        document['compute_plans'][0]['monthly_price'] = '85.00'
        del document['compute_plans'][1]
        document['csp_resources'] = []
        self.server.documents['/catalog.json'] = json.dumps(document)
        result = self.sync()
        self.assertEqual(result['cloud_pricing.compute_plan'], (0, 1, 1))
        self.assertEqual(result['cloud_pricing.csp_resource'], (0, 0, 1))
        # standard-8 of nextcloud moves up to the first place (sort order 10)
        self.assertEqual(result['cloud_pricing.plan_assignment'], (0, 1, 1))
        self.assertEqual(result['cloud_pricing.sla_tier'], (0, 0, 0))
        pool = Pool()
        Plan = pool.get('cloud_pricing.compute_plan')
        self.assertEqual(sorted((p.service, p.plan, p.monthly_price)
                for p in Plan.search([])), [
                ('nextcloud', 'standard-8', Decimal('85.00')),
                ('redis', 'standard-2', Decimal('20.00'))])
        self.server.documents['/catalog.json'] = catalog_text()
        result = self.sync()
        self.assertEqual(result['cloud_pricing.compute_plan'], (0, 2, 0))
        self.assertEqual(len(Plan.search([])), 3)

    @with_transaction()
    def test_refused_documents_change_nothing(self):
        "A malformed, partial or unreachable catalog changes nothing"
        create_currency('USD')
        self.sync()
        before = snapshot()
        partial = json.loads(catalog_text())
        del partial['storage']
        bad_entry = json.loads(catalog_text())
        bad_entry['compute_plans'][0]['monthly_price'] = 'NaN'
        for data, message in [
                ('{"sla_tiers": [', "is not a JSON document"),
                (json.dumps(partial), "is partial: storage missing"),
                (json.dumps(bad_entry), "entry 0 of compute_plans, field "
                    '"monthly_price"'),
                (None, "could not be fetched"),
                ]:
            with self.subTest(message=message):
                if data is None:
                    del self.server.documents['/catalog.json']
                else:
                    self.server.documents['/catalog.json'] = data
                with self.assertRaises(CatalogSyncError) as cm:
                    self.sync()
                self.assertIn(message, cm.exception.message)
                self.assertIn("Nothing was changed.", cm.exception.message)
                self.assertEqual(snapshot(), before)

    @with_transaction()
    def test_unknown_currency(self):
        "A currency that is not set up refuses the document"
        with self.assertRaises(CatalogSyncError) as cm:
            self.sync()
        self.assertEqual(cm.exception.message, 'The pricing catalog names '
            'the currency "USD", which is not set up. Nothing was changed.')

    @with_transaction()
    def test_sync_is_queued(self):
        "The job queues a task; the task syncs, or records the refusal"
        pool = Pool()
        Catalog = pool.get('cloud_pricing.catalog')
        Queue = pool.get('ir.queue')
        Plan = pool.get('cloud_pricing.compute_plan')
        create_currency('USD')
        at = datetime.datetime(2026, 3, 1, 12, 40)
        run = Catalog.sync(at)
        self.assertEqual((run.queued_at, run.state), (at, 'queued'))
        # Nothing is fetched in the job's transaction
        self.assertEqual(Plan.search([]), [])
        task, = Queue.search([])
        self.assertEqual((task.data['model'], task.data['method'],
                list(task.data['instances'])),
            ('cloud_pricing.catalog.sync_run', 'run', [run.id]))
        task.run()
        run = type(run)(run.id)
        self.assertEqual(run.state, 'done')
        self.assertIn("Compute Plan Catalog Entry: 3 created",
            run.summary)
        self.assertEqual(len(Plan.search([])), 3)
        # Run again (a retried task): nothing more
        type(run).run([run])
        self.assertEqual(run.state, 'done')

        self.server.documents['/catalog.json'] = '{"sla_tiers": ['
        run = Catalog.sync()
        before = snapshot()
        task, = [t for t in Queue.search([])
            if list(t.data['instances']) == [run.id]]
        task.run()
        run = type(run)(run.id)
        self.assertEqual(run.state, 'failed')
        self.assertIn("is not a JSON document", run.message)
        self.assertIn("Nothing was changed.", run.message)
        self.assertEqual(snapshot(), before)

        self.server.set_option('catalog_url', '')
        with self.assertRaises(CatalogSyncError):
            Catalog.sync()

    @with_transaction()
    def test_not_http(self):
        self.server.set_option('catalog_url', 'file:///etc/passwd')
        with self.assertRaises(CatalogSyncError) as cm:
            self.sync()
        self.assertEqual(cm.exception.message, 'The catalog URL '
            '"file:///etc/passwd" is not an HTTP or HTTPS URL.')

    @with_transaction()
    def test_instance_price(self):
        "The synced catalog prices the worked example"
        from cloud_pricing.price import instance_price
        create_currency('USD')
        self.sync()
        pool = Pool()
        Plan = pool.get('cloud_pricing.compute_plan')
        Tier = pool.get('cloud_pricing.sla_tier')
        plan, = Plan.search([('service', '=', 'nextcloud'),
                ('plan', '=', 'standard-8')])
        guaranteed, = Tier.search([('code', '=', 'guaranteed')])
        spec = {'spec': {'parameters': {'instances': 2,
                    'size': {'disk': '50Gi'},
                    'postgres': {'instances': 1, 'disk': 20}}}}
        lines, currency, stale = instance_price(
            plan, guaranteed, json.dumps(spec), 'acme-cloud')
        self.assertEqual(sum(l.amount for l in lines), Decimal('433.00'))
        self.assertEqual(currency.code, 'USD')
        self.assertFalse(stale)
        spec['spec']['parameters']['instances'] = 1
        with self.assertRaises(PricingError) as cm:
            instance_price(plan, guaranteed, json.dumps(spec))
        self.assertEqual(cm.exception.message, 'SLA tier "guaranteed" '
            'needs at least 2 replicas of the main component; the spec '
            'has 1.')
        del spec['spec']['parameters']['postgres']
        besteffort, = Tier.search([('code', '=', 'besteffort')])
        with self.assertRaises(PricingError) as cm:
            instance_price(plan, besteffort, json.dumps(spec))
        self.assertEqual(cm.exception.message, 'The instance spec has no '
            '"postgres" on the path "spec.parameters.postgres.instances".')


del ModuleTestCase
