# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import contextlib
import datetime
import email
import email.policy
from decimal import Decimal

import trytond.config as config
from trytond.exceptions import UserError
from trytond.model.exceptions import SQLConstraintError, ValidationError
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from cloud_billing import openstack
from cloud_billing.tests import fake_openstack

from ..exceptions import (
    BillingEmailError, BillingEmailTextError, BrandingError)
from ..placeholder import PLACEHOLDERS
from .test_email_layout import PNG

PROJECT = 'project-a'
OTHER = 'project-b'
START = datetime.date(2026, 1, 1)


def create_eur():
    pool = Pool()
    Currency = pool.get('currency.currency')
    currency, = Currency.create([{
                'name': "Euro", 'symbol': '€', 'code': 'EUR',
                'digits': 2, 'rounding': Decimal('0.01'),
                }])
    return currency


def create_subscription(company, name="O'Hara & <Sons>", email=None):
    pool = Pool()
    Party = pool.get('party.party')
    Subscription = pool.get('sale.subscription')
    mechanisms = []
    if email:
        mechanisms.append({'type': 'email', 'value': email})
    party, = Party.create([{
                'name': name,
                'addresses': [('create', [{}])],
                'contact_mechanisms': [('create', mechanisms)],
                }])
    subscription, = Subscription.create([{
                'company': company.id,
                'party': party.id,
                'invoice_address': party.addresses[0].id,
                'currency': company.currency.id,
                'start_date': datetime.date(2026, 1, 1),
                }])
    return subscription


def parse(msg):
    return email.message_from_bytes(
        msg.as_bytes(), policy=email.policy.default)


class CloudBillingTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Cloud Billing module"
    module = 'cloud_billing'

    @property
    def _skip_company_rule(self):
        # The default texts have no company: their rule lets them through.
        return super()._skip_company_rule | {
            ('sale.subscription.billing_email.text', 'company'),
            }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        openstack.register_connection_factory('fake', fake_openstack.connect)

    def setUp(self):
        super().setUp()
        self.cloud = fake_openstack.reset()

    def set_options(self, **options):
        "Set [cloud_billing] options for the test only"
        section = 'cloud_billing'
        saved = None
        if config.has_section(section):
            saved = {o: config.get(section, o)
                for o in config.options(section)}
        else:
            config.add_section(section)

        def restore():
            config.remove_section(section)
            if saved is not None:
                config.add_section(section)
                for option, value in saved.items():
                    config.set(section, option, value)
            for getter in [config.get, config.getint, config.getfloat,
                    config.getboolean]:
                getter.cache_clear()
        self.addCleanup(restore)
        for option, value in options.items():
            config.set(section, option, value)

    def fake_context(self):
        return Transaction().set_context(cloud_billing_connection='fake')

    def create_service(self, name, quota_key=None, multiplier=1,
            unit=None):
        pool = Pool()
        Uom = pool.get('product.uom')
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        Service = pool.get('sale.subscription.service')
        if unit is None:
            unit, = Uom.search([('name', '=', "Unit")])
        template = Template(
            name=name, type='service', default_uom=unit,
            list_price=Decimal('10'))
        template.save()
        product = Product(template=template)
        product.save()
        service = Service(
            product=product, quota_key=quota_key,
            quota_multiplier=multiplier)
        service.save()
        return service

    def create_subscription(self, company, lines, project_id=PROJECT,
            cloud=None, run=True):
        pool = Pool()
        Party = pool.get('party.party')
        Cloud = pool.get('cloud_billing.cloud')
        Subscription = pool.get('sale.subscription')
        Line = pool.get('sale.subscription.line')
        if cloud is None:
            cloud = Cloud(
                name="Region One", entry='billing', region='RegionOne')
            cloud.save()
        Address = pool.get('party.address')
        party = Party(name="Tenant", addresses=[Address()])
        party.save()
        subscription = Subscription(
            company=company, party=party, currency=company.currency,
            invoice_address=party.addresses[0],
            start_date=START,
            cloud=cloud, project_id=project_id)
        subscription.lines = [
            Line(service=service, quantity=quantity,
                unit=service.product.default_uom, unit_price=Decimal('10'),
                start_date=START)
            for service, quantity in lines]
        subscription.save()
        if run:
            Subscription.quote([subscription])
            Subscription.run([subscription])
        return subscription

    def add_servers(self, *names):
        "A server of the project for each name, in the fake cloud"
        return [self.cloud.add_server(PROJECT, name=n) for n in names]

    def fetch(self, subscription):
        "Read subscription's servers from the fake cloud"
        Subscription = Pool().get('sale.subscription')
        with self.fake_context():
            Subscription.fetch_cloud_resources([subscription])

    @contextlib.contextmanager
    def cloud_subscription(self):
        "A running subscription of project-a: 4 vCPU, 8 GiB RAM, support"
        company = create_company()
        with set_company(company):
            yield company, self._cloud_subscription(company)

    def _cloud_subscription(self, company):
        vcpu = self.create_service("vCPU", 'cores')
        ram = self.create_service("RAM GiB", 'ram', 1024)
        support = self.create_service("Support")
        subscription = self.create_subscription(
            company, [(vcpu, 4), (ram, 8), (support, 1)])
        return subscription

    @with_transaction()
    def test_sync_records_servers(self):
        "Sync records the project's servers, and only those"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (_, subscription):
            web = self.cloud.add_server(PROJECT, name='web', flavor='m1.small')
            db = self.cloud.add_server(PROJECT, name='db', status='SHUTOFF')
            self.cloud.add_server(OTHER, name='foreign')

            self.fetch(subscription)

            resources = Resource.search([], order=[('name', 'ASC')])
            self.assertEqual(
                [(r.name, r.uuid, r.project_id, r.region, r.flavor, r.status,
                        r.gone, r.shelved_by_billing, r.subscription, r.cloud)
                    for r in resources],
                [('db', db.id, PROJECT, 'RegionOne', 'm1.tiny', 'SHUTOFF',
                        False, False, subscription, subscription.cloud),
                    ('web', web.id, PROJECT, 'RegionOne', 'm1.small', 'ACTIVE',
                        False, False, subscription, subscription.cloud)])
            self.assertTrue(all(r.last_seen for r in resources))
            subscription = Subscription(subscription.id)
            self.assertTrue(subscription.cloud_synced_at)
            self.assertIsNone(subscription.cloud_sync_error)
            self.assertEqual(
                [c for c in self.cloud.actions() if c[0] != 'GET'], [])

    @with_transaction()
    def test_sync_marks_gone_never_deletes(self):
        "A server gone from Nova stays recorded, marked gone"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (_, subscription):
            web, db = self.add_servers('web', 'db')
            self.fetch(subscription)
            del self.cloud.servers[db.id]
            cache, dying = self.add_servers('cache', 'dying')
            self.cloud.servers[dying.id].status = 'DELETED'
            web_server = self.cloud.servers[web.id]
            web_server.status = 'SHELVED_OFFLOADED'

            self.fetch(subscription)

            resources = {r.uuid: r for r in Resource.search([])}
            self.assertEqual(
                set(resources), {web.id, db.id, cache.id, dying.id})
            self.assertEqual(
                (resources[dying.id].gone, resources[dying.id].status),
                (True, 'DELETED'))
            self.assertTrue(resources[db.id].gone)
            self.assertTrue(resources[db.id].gone_since)
            self.assertEqual(resources[db.id].status, 'ACTIVE')
            self.assertFalse(resources[web.id].gone)
            self.assertEqual(resources[web.id].status, 'SHELVED_OFFLOADED')
            self.assertFalse(resources[cache.id].gone)

    @with_transaction()
    def test_sync_short_listing_is_not_gone(self):
        "A server left out of a listing is gone only when its read says so"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (_, subscription):
            web, db, moved, flaky = self.add_servers(
                'web', 'db', 'moved', 'flaky')
            self.fetch(subscription)
            # The listing comes back empty; web was shelved meanwhile, db
            # was deleted, moved's UUID is now another project's and the
            # read of flaky fails.
            self.cloud.unlisted.update(self.cloud.servers)
            self.cloud.servers[web.id].status = 'SHELVED_OFFLOADED'
            del self.cloud.servers[db.id]
            self.cloud.servers[moved.id].project_id = OTHER
            self.cloud.inject('get_server', flaky.id, fault=500)

            self.fetch(subscription)

            resources = {r.name: r for r in Resource.search([])}
            self.assertEqual(
                {n: (r.gone, r.status) for n, r in resources.items()},
                {'web': (False, 'SHELVED_OFFLOADED'), 'db': (True, 'ACTIVE'),
                    'moved': (True, 'ACTIVE'), 'flaky': (False, 'ACTIVE')})
            self.assertIsNone(Subscription(subscription.id).cloud_sync_error)

    @with_transaction()
    def test_sync_confirm_connection_lost(self):
        "A connection lost while confirming records nothing"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (_, subscription):
            web = self.cloud.add_server(PROJECT, name='web')
            self.fetch(subscription)
            self.cloud.unlisted.add(web.id)
            self.cloud.inject('get_server', web.id, fault='timeout')

            self.fetch(subscription)

            resource, = Resource.search([])
            self.assertFalse(resource.gone)
            self.assertIn('timed out',
                Subscription(subscription.id).cloud_sync_error)

    @with_transaction()
    def test_sync_failure_recorded(self):
        "A failed sync is written on the subscription, not raised"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (_, subscription):
            self.cloud.add_server(PROJECT)
            self.cloud.inject('servers', fault='timeout')

            self.fetch(subscription)

            subscription = Subscription(subscription.id)
            self.assertIn('timed out', subscription.cloud_sync_error)
            self.assertIn(PROJECT, subscription.cloud_sync_error)
            self.assertIsNone(subscription.cloud_synced_at)
            self.assertEqual(Resource.search([]), [])

            self.fetch(subscription)
            subscription = Subscription(subscription.id)
            self.assertIsNone(subscription.cloud_sync_error)
            self.assertEqual(len(Resource.search([])), 1)

    @with_transaction()
    def test_sync_button_and_cron_queue(self):
        "The button and the cron queue the sync of running subscriptions"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Queue = pool.get('ir.queue')
        Cron = pool.get('ir.cron')
        with self.cloud_subscription() as (company, subscription):
            draft = self.create_subscription(
                company, [], project_id=OTHER, cloud=subscription.cloud,
                run=False)

            # The quota set when the subscription started running
            quota_task, = Queue.search([])
            self.assertEqual(quota_task.data['method'], 'run_remote')
            Queue.delete([quota_task])

            Subscription.sync_resources([subscription, draft])
            task, = Queue.search([])
            self.assertEqual(task.data['method'], 'fetch_cloud_resources')
            self.assertEqual(list(task.data['instances']), [subscription.id])
            Queue.delete([task])

            self.assertEqual(
                Subscription.sync_cloud_resources(date=START), [subscription])
            self.assertEqual(
                Subscription.sync_cloud_resources(
                    date=START - datetime.timedelta(days=1)), [])
            self.assertIn(
                'sale.subscription|sync_cloud_resources',
                dict(Cron.method.selection))
            # at a fixed minute, for the company created after activation
            cron, = Cron.search([
                    ('method', '=', 'sale.subscription|sync_cloud_resources'),
                    ])
            self.assertEqual((cron.interval_type, cron.minute), ('hours', 45))
            self.assertIn(company, cron.companies)

    @with_transaction()
    def test_remote_action_shelve_unshelve(self):
        "Unshelve restores only what billing shelved"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (_, subscription):
            web = self.cloud.add_server(PROJECT, name='web')
            parked = self.cloud.add_server(
                PROJECT, name='parked', status='SHELVED_OFFLOADED')
            self.fetch(subscription)
            resources = Resource.search([], order=[('name', 'ASC')])

            with self.fake_context():
                outcomes = Resource.remote_action(resources, 'shelve')

            by_name = {r.name: o for r, o in outcomes.items()}
            self.assertEqual(by_name['web'].result, openstack.DONE)
            self.assertEqual(by_name['parked'].result, openstack.ALREADY)
            parked_resource, web_resource = Resource.search(
                [], order=[('name', 'ASC')])
            self.assertTrue(web_resource.shelved_by_billing)
            self.assertFalse(parked_resource.shelved_by_billing)

            server = self.cloud.servers[web.id]
            server.status, server.task_state = 'SHELVED_OFFLOADED', None
            server.steps, server.final = [], None
            with self.fake_context():
                outcomes = Resource.remote_action(
                    Resource.search([]), 'unshelve')

            self.assertEqual(
                [(r.name, o.result) for r, o in outcomes.items()],
                [('web', openstack.DONE)])
            web_resource = Resource(web_resource.id)
            self.assertFalse(web_resource.shelved_by_billing)
            self.assertEqual(
                self.cloud.actions('POST'),
                [('POST', '/servers/%s/action' % web.id)] * 2)
            self.assertEqual(self.cloud.servers[parked.id].status,
                'SHELVED_OFFLOADED')

    @with_transaction()
    def test_remote_action_connection_failure(self):
        "A cloud that cannot be reached fails every server, as data"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (_, subscription):
            self.cloud.add_server(PROJECT)
            self.fetch(subscription)
            resource, = Resource.search([])

            with Transaction().set_context(cloud_billing_connection='missing'):
                outcomes = Resource.remote_action([resource], 'delete')
            outcome, = outcomes.values()
            self.assertEqual(outcome.result, openstack.FAILED)
            self.assertIn('missing', outcome.error)
            self.assertEqual(self.cloud.actions('DELETE'), [])

    @with_transaction()
    def test_record_outcomes(self):
        "Outcomes of deletes and of lost answers are recorded"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (_, subscription):
            server = self.cloud.add_server(PROJECT)
            self.fetch(subscription)
            resource, = Resource.search([])

            Resource.record_outcomes([resource], [openstack.ServerOutcome(
                        server.id, 'shelve', openstack.RETRY, 'ACTIVE',
                        sent=True)])
            self.assertTrue(resource.shelved_by_billing)
            Resource.record_outcomes([resource], [openstack.ServerOutcome(
                        server.id, 'delete', openstack.DONE, 'DELETED')])
            resource = Resource(resource.id)
            self.assertEqual((resource.status, resource.gone),
                ('DELETED', True))
            self.assertTrue(resource.gone_since)

    @with_transaction()
    def test_cloud_quota(self):
        "Lines give the quota: limit in force × multiplier, summed per key"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Subscription = pool.get('sale.subscription')
        with self.cloud_subscription() as (_, subscription):
            vcpu, ram, _ = subscription.lines

            self.assertEqual(subscription.get_cloud_quota(START),
                {'cores': 4, 'ram': 8192})
            Line.change_limit(vcpu, 6, datetime.date(2026, 2, 1))
            subscription = Subscription(subscription.id)
            self.assertEqual(
                subscription.get_cloud_quota(datetime.date(2026, 1, 31)),
                {'cores': 4, 'ram': 8192})
            self.assertEqual(
                subscription.get_cloud_quota(datetime.date(2026, 2, 1)),
                {'cores': 6, 'ram': 8192})

            with self.fake_context():
                outcome, = Subscription.apply_cloud_quota(
                    [subscription], datetime.date(2026, 2, 1)).values()
            self.assertEqual(outcome.result, openstack.DONE)
            self.assertEqual(outcome.applied, {'cores': 6, 'ram': 8192})
            self.assertEqual(self.cloud.quota(PROJECT)['cores'], 6)
            self.assertEqual(self.cloud.quota(PROJECT)['instances'], 10)

    @with_transaction()
    def test_quota_must_be_whole(self):
        "A limit that gives a fractional quota is refused"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Uom = pool.get('product.uom')
        UomCategory = pool.get('product.uom.category')
        with self.cloud_subscription() as (company, running):
            half = Uom(name="Half", symbol="h", rounding=0.01, digits=2,
                category=UomCategory(name="Fractions"), factor=1, rate=1)
            half.save()
            vcpu = self.create_service("vCPU half", 'cores', unit=half)
            ram = self.create_service("RAM half", 'ram', 1024, unit=half)
            other = self.create_service("Other half", unit=half)
            subscription = self.create_subscription(
                company, [(vcpu, 1), (ram, 1), (other, 1)],
                project_id='project-c', cloud=running.cloud, run=False)
            vcpu, ram, other = subscription.lines
            Line.write([ram], {'quantity': 0.5})  # 512 MB
            Line.write([other], {'quantity': 0.25})  # no quota
            self.assertEqual(subscription.get_cloud_quota(START),
                {'cores': 1, 'ram': 512})
            with self.assertRaises(ValidationError) as cm:
                Line.write([vcpu], {'quantity': 1.5})
            self.assertIn('cores', cm.exception.message)
            self.assertIn('1.5', cm.exception.message)

    @with_transaction()
    def test_project_billed_once(self):
        "Two running subscriptions cannot bill the same project"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        with self.cloud_subscription() as (company, subscription):
            other = self.create_subscription(
                company, [], cloud=subscription.cloud, run=False)
            Subscription.quote([other])
            with self.assertRaises(ValidationError) as cm:
                Subscription.run([other])
            self.assertIn(PROJECT, cm.exception.message)
            with self.assertRaises(ValidationError):
                Subscription.write([other], {'project_id': 'with space'})

    @with_transaction()
    def test_cloud_connect_options(self):
        "The connection takes the trytond configuration and the region"
        pool = Pool()
        Cloud = pool.get('cloud_billing.cloud')
        company = create_company()
        calls = []

        def factory(cloud, region=None, **options):
            calls.append((cloud, region, options))
            return 'connection'
        openstack.register_connection_factory('recorder', factory)
        self.addCleanup(openstack.CONNECTION_FACTORIES.pop, 'recorder')
        with set_company(company):
            cloud = Cloud(name="Two", entry='prod', region='RegionTwo')
            cloud.save()
        self.set_options(
            clouds_yaml='/etc/openstack/c.yaml', read_timeout='12')
        with Transaction().set_context(cloud_billing_connection='recorder'):
            self.assertEqual(cloud.connect(), 'connection')
        (entry, region, options), = calls
        self.assertEqual((entry, region), ('prod', 'RegionTwo'))
        self.assertEqual(options, {
                'clouds_yaml': '/etc/openstack/c.yaml',
                'connect_timeout': openstack.CONNECT_TIMEOUT,
                'read_timeout': 12.0,
                'connect_retries': openstack.CONNECT_RETRIES,
                })

    @with_transaction()
    def test_cloud_connect_failure(self):
        "A connection that cannot be built is a user error"
        pool = Pool()
        Cloud = pool.get('cloud_billing.cloud')
        company = create_company()
        with set_company(company):
            cloud = Cloud(name="Nowhere", entry='nope', region='R')
            cloud.save()
        with Transaction().set_context(cloud_billing_connection='nope'):
            with self.assertRaises(UserError):
                cloud.connect()
    def setup_company(self):
        pool = Pool()
        Branding = pool.get('sale.subscription.billing_email.branding.company')
        company = create_company(currency=create_eur())
        branding = Branding(
            company=company, logo=PNG, primary_color='#c0392b',
            footer="Cloud & Co <Ltd>, IBAN DE00 1234",
            payment_line="Pay to IBAN DE00 1234 or write to "
            "billing@cloud.example",
            email_from="Cloud Billing <billing@cloud.example>")
        branding.save()
        return company

    @with_transaction()
    def test_render_amounts_dates_escaping(self):
        "Amounts with the currency, dates in the language, HTML escaped"
        company = self.setup_company()
        with set_company(company):
            subscription = create_subscription(
                company, email='ohara@customer.example')
            msg, body = subscription.get_billing_email('pre_deletion', {
                    'overdue_amount': Decimal('1234.5'),
                    'oldest_due_date': datetime.date(2026, 2, 28),
                    'deletion_date': datetime.date(2026, 4, 15),
                    'invoice_numbers': ["INV-1", "INV-<2>"],
                    }, date=datetime.date(2026, 4, 8))
        msg = parse(msg)
        self.assertEqual(
            msg['Subject'],
            "Final notice: your servers will be deleted on 04/15/2026")
        self.assertEqual(msg['To'],
            '"O\'Hara & <Sons>" <ohara@customer.example>')
        self.assertIn('billing@cloud.example',
            msg['From'] + (msg['Reply-To'] or ''))
        self.assertEqual(msg['Auto-Submitted'], 'auto-generated')
        text = msg.get_body(('plain',)).get_content()
        html_ = msg.get_body(('html',)).get_content()
        for part in [text, html_]:
            self.assertIn('€1,234.50', part)
            self.assertIn('02/28/2026', part)
            self.assertIn('04/15/2026', part)
        self.assertIn("Dear O'Hara & <Sons>,", text)
        self.assertIn("INV-1, INV-<2>", text)
        self.assertIn("Dear O&#x27;Hara &amp; &lt;Sons&gt;,", html_)
        self.assertIn("INV-1, INV-&lt;2&gt;", html_)
        self.assertNotIn("<Sons>", html_)
        self.assertIn("-- \nCloud & Co <Ltd>, IBAN DE00 1234", text)
        self.assertIn("Cloud &amp; Co &lt;Ltd&gt;, IBAN DE00 1234", html_)
        self.assertIn("billing@cloud.example", text)
        self.assertIn('#c0392b', html_)
        self.assertIn('<html>', html_)
        self.assertNotIn('<', text.replace('<Sons>', '').replace(
                '<Ltd>', '').replace('<2>', ''))
        # The logo travels inline, referenced by its Content-ID.
        image, = [p for p in msg.walk()
            if p.get_content_maintype() == 'image']
        self.assertEqual(image.get_content(), PNG)
        self.assertIn(
            'cid:%s' % image['Content-ID'].strip('<>'), html_)
        self.assertIn('O&#x27;Hara', body)
        self.assertNotIn('<html>', body)

    @with_transaction()
    def test_render_from_invoices_and_defaults(self):
        "The date of the email fills the date of the step"
        company = self.setup_company()
        with set_company(company):
            subscription = create_subscription(
                company, name="Acme", email='acme@customer.example')
            msg, _ = subscription.get_billing_email(
                'restored', date=datetime.date(2026, 5, 2))
        text = parse(msg).get_body(('plain',)).get_content()
        self.assertIn('restored on 05/02/2026', text)
        self.assertIn('Dear Acme,', text)

    @with_transaction()
    def test_render_invoice_contact(self):
        "The invoice email of the invoice party receives the email"
        pool = Pool()
        Party = pool.get('party.party')
        ContactMechanism = pool.get('party.contact_mechanism')
        company = self.setup_company()
        with set_company(company):
            subscription = create_subscription(
                company, name="Tenant", email='tech@tenant.example')
            payer, = Party.create([{
                        'name': "Payer", 'addresses': [('create', [{}])]}])
            ContactMechanism.create([
                    {'party': payer.id, 'type': 'email',
                        'value': 'other@payer.example'},
                    {'party': payer.id, 'type': 'email', 'invoice': True,
                        'value': 'ap@payer.example'},
                    ])
            subscription.invoice_party = payer
            subscription.invoice_address = payer.addresses[0]
            subscription.save()
            msg, _ = subscription.get_billing_email(
                'restored', date=datetime.date(2026, 5, 2))
        self.assertEqual(msg['To'], 'Payer <ap@payer.example>')
        self.assertIn('Dear Payer,', parse(msg).get_body(
                ('plain',)).get_content())

    @with_transaction()
    def test_render_without_branding(self):
        "Without branding: default colour, company name, no image"
        company = create_company(currency=create_eur())
        with set_company(company):
            subscription = create_subscription(
                company, email='a@customer.example')
            msg, _ = subscription.get_billing_email(
                'restored', date=datetime.date(2026, 5, 2))
        msg = parse(msg)
        self.assertFalse([p for p in msg.walk()
                if p.get_content_maintype() == 'image'])
        html_ = msg.get_body(('html',)).get_content()
        self.assertIn('#1f4e79', html_)
        self.assertIn(company.party.name, html_)

    @with_transaction()
    def test_template_from_client(self):
        "Used from the client's email dialog, a template fills what it can"
        pool = Pool()
        Template = pool.get('ir.email.template')
        company = self.setup_company()
        with set_company(company):
            subscription = create_subscription(
                company, name="Acme", email='acme@customer.example')
            template = Template.get_billing_template('reminder')
            values = template.get(subscription)
        self.assertEqual(values['to'], ['Acme <acme@customer.example>'])
        self.assertIn('Dear Acme,', values['body'])
        self.assertIn('Pay to IBAN DE00 1234', values['body'])
        self.assertIn('Payment reminder: overdue for', values['subject'])

    @with_transaction()
    def test_render_missing_values(self):
        "A kind without its values is a clear error"
        company = self.setup_company()
        with set_company(company):
            subscription = create_subscription(company)
            with self.assertRaisesRegex(
                    BillingEmailError, 'invoice_numbers.*shelve_date'):
                subscription.get_billing_email('reminder', {})

    @with_transaction()
    def test_render_text_refused_around_the_check(self):
        "A text that escaped the check is refused when rendered"
        pool = Pool()
        Text = pool.get('sale.subscription.billing_email.text')
        Translation = pool.get('ir.translation')
        company = self.setup_company()
        text = Text.get_for_kind('restored', company)
        for body in ["Dear {customer}, {no_such_value}",
                "{customer.__class__}", "${customer}"]:
            with self.subTest(body=body):
                # A translation written in Administration › Translations
                # does not pass through the check.
                translation, = Translation.search([
                        ('name', '=',
                            'sale.subscription.billing_email.text,body'),
                        ('res_id', '=', text.id),
                        ('lang', '=', 'en'),
                        ])
                translation.value = body
                translation.save()
                with set_company(company):
                    subscription = create_subscription(company)
                    with self.assertRaises(BillingEmailError) as cm:
                        subscription.get_billing_email('restored')
                self.assertIn('billing email text "Restored"',
                    cm.exception.message)

    @with_transaction()
    def test_text_check(self):
        "The texts accept known placeholders only, with a message"
        pool = Pool()
        Text = pool.get('sale.subscription.billing_email.text')
        text = Text.get_for_kind('reminder', None)
        for field in ['subject', 'greeting', 'body', 'closing']:
            for value, message in [
                    ('{user}', 'uses the unknown value "{user}"'),
                    ('x {0.__class__}', 'contains "{0.__class__}" '
                        '(character 3)'),
                    ('${customer}', 'contains the expression "${customer}"'),
                    ]:
                with self.subTest(field=field, value=value):
                    with self.assertRaises(BillingEmailTextError) as cm:
                        Text.write([text], {field: value})
                    self.assertIn(message, cm.exception.message)
                    self.assertIn('{customer}, {subscription}',
                        cm.exception.message)
        Text.write([text], {
                'subject': 'Due: {overdue_amount}', 'greeting': '',
                'body': 'Pay {amount_to_pay}.', 'closing': None})
        self.assertEqual(text.render({
                    **{n: '' for n in PLACEHOLDERS},
                    'overdue_amount': '{x}', 'amount_to_pay': '$1'}),
            ('Due: {x}', 'Pay $1.'))

    @with_transaction()
    def test_texts_per_kind(self):
        "Each kind has its default text; a company has one per kind"
        pool = Pool()
        Text = pool.get('sale.subscription.billing_email.text')
        self.assertEqual(
            sorted(t.kind for t in Text.search([])),
            sorted(['reminder', 'shelved', 'pre_deletion', 'deleted',
                    'restored']))
        with self.assertRaises(BillingEmailTextError):
            Text.create([{'kind': 'reminder', 'subject': 'S', 'body': 'B'}])
        company = create_company(currency=create_eur())
        default = Text.get_for_kind('reminder', company)
        self.assertIsNone(default.company)
        own, = Text.create([{'company': company.id, 'kind': 'reminder',
                    'subject': 'S', 'body': 'B'}])
        self.assertEqual(Text.get_for_kind('reminder', company), own)
        self.assertEqual(Text.get_for_kind('reminder', None), default)
        with self.assertRaises(BillingEmailTextError):
            Text.write([own], {'kind': 'shelved'})
        # Last: PostgreSQL aborts the transaction
        with self.assertRaises(SQLConstraintError):
            Text.create([{'company': company.id, 'kind': 'reminder',
                        'subject': 'S', 'body': 'B'}])

    @with_transaction()
    def test_send_once_per_step(self):
        "A step is mailed once; a missing address is recorded and retried"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        BillingEmail = pool.get('sale.subscription.billing_email')
        Email = pool.get('ir.email')
        ContactMechanism = pool.get('party.contact_mechanism')
        company = self.setup_company()
        date = datetime.date(2026, 5, 2)
        with set_company(company):
            subscription = create_subscription(company, name="Nomail")
            record = subscription.send_billing_email(
                'restored', 'restore:1', date=date)
            self.assertEqual(record.state, 'no_recipient')
            self.assertIsNone(record.email)
            self.assertEqual(Email.search([]), [])

            ContactMechanism.create([{
                        'party': subscription.party.id, 'type': 'email',
                        'value': 'nomail@customer.example'}])
            record = subscription.send_billing_email(
                'restored', 'restore:1', date=date)
            # Delivered by a task of its own after the commit
            # (test_email_delivery.py).
            self.assertEqual(record.state, 'queued')
            self.assertEqual(record.recipients,
                'Nomail <nomail@customer.example>')
            log, = Email.search([])
            self.assertEqual(log.resource, subscription)
            self.assertEqual(record.email, log)
            self.assertEqual(log.subject, record.subject)

            self.assertIsNone(subscription.send_billing_email(
                    'restored', 'restore:1', date=date))
            self.assertEqual(Subscription.send_billing_emails([
                        (subscription, 'restored', 'restore:1', None),
                        (subscription, 'restored', 'restore:2', None),
                        (subscription, 'restored', 'restore:2', None),
                        ], date=date)[0].step_key, 'restore:2')
            self.assertEqual(BillingEmail.search([], count=True), 2)
            self.assertEqual(len(Email.search([])), 2)

    @with_transaction()
    def test_step_unique(self):
        "The database refuses a second record of the same step"
        pool = Pool()
        BillingEmail = pool.get('sale.subscription.billing_email')
        company = self.setup_company()
        with set_company(company):
            subscription = create_subscription(company)
            values = {
                'company': company.id, 'subscription': subscription.id,
                'kind': 'reminder', 'step_key': 'k', 'state': 'sent',
                'date': datetime.date(2026, 1, 1)}
            BillingEmail.create([values])
            with self.assertRaises(SQLConstraintError):
                BillingEmail.create([values])

    @with_transaction()
    def test_send_rejects_bad_request(self):
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        company = self.setup_company()
        with set_company(company):
            subscription = create_subscription(company)
            for kind, key in [('no_such_kind', 'k'), ('restored', '')]:
                with self.subTest(kind=kind, key=key):
                    with self.assertRaises(BillingEmailError):
                        Subscription.send_billing_emails(
                            [(subscription, kind, key, None)])

    @with_transaction()
    def test_templates_per_kind(self):
        "Each kind has its template on subscriptions, one per kind"
        pool = Pool()
        Template = pool.get('ir.email.template')
        for kind in ['reminder', 'shelved', 'pre_deletion', 'deleted',
                'restored']:
            template = Template.get_billing_template(kind)
            self.assertEqual(template.model.name, 'sale.subscription')
            self.assertEqual(template.recipients.name, 'billing_email_party')
            self.assertEqual(template.contact_mechanism, 'invoice')
        other = Template(
            model=template.model, name="Copy", billing_email_kind='restored')
        with self.assertRaises(SQLConstraintError):
            other.save()

    @with_transaction()
    def test_branding_validation(self):
        pool = Pool()
        Branding = pool.get('sale.subscription.billing_email.branding.company')
        company = create_company(currency=create_eur())
        for values in [
                {'primary_color': 'red'},
                {'primary_color': '#fff;x'},
                {'logo': b'<svg xmlns="http://www.w3.org/2000/svg"/>'},
                {'logo': PNG + b'\0' * (512 * 1024)},
                ]:
            with self.subTest(values=values):
                branding = Branding(company=company, **values)
                with self.assertRaises(BrandingError):
                    Branding.validate_fields([branding], set(values))
        branding = Branding(company=company, primary_color='#ABC', logo=PNG)
        branding.save()
        with self.assertRaises(SQLConstraintError):
            Branding(company=company).save()


del ModuleTestCase
