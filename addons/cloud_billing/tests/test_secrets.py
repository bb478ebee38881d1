# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""No credential of the cloud configuration reaches a record, a log line, an
email or an RPC answer (issue 11, item 6).

A database with cloud_billing (proteus, in process: the queued tasks run at
commit in this process), a cloud whose clouds.yaml entry is in a folder of
the test (the ``[cloud_billing] clouds_yaml`` option, as in production) and
a running subscription whose servers were recorded. The connection is then
made to fail three ways: a secure.yaml that does not parse, a Keystone on
loopback that refuses the token with an echo of the request, an auth URL
with user info on a port where nothing listens. Each time a finance user
syncs the project and runs the billing actions job for a planned shelve;
support, a plain sales user and the finance manager then read what was
recorded through RPC. The password is looked for, in pieces of 6
characters, in every text they get, in every log record of the process at
DEBUG, in the emails and notifications and in the errors of the tasks.
"""
import datetime
import json
import tempfile
import unittest

import trytond.config as config
from trytond.model.exceptions import AccessError
from trytond.tests.test_tryton import drop_db
from trytond.tests.tools import activate_modules, set_user

from cloud_billing import openstack
from cloud_billing.tests import fake_openstack, leaks
from subscription_core.tests.tools import (
    create_customer, get_services, setup_billing)

SECTION = 'cloud_billing'
FAKE = {'cloud_billing_connection': 'fake'}


def set_options(**options):
    "Set [cloud_billing] options; return a function restoring them"
    saved = ({o: config.get(SECTION, o) for o in config.options(SECTION)}
        if config.has_section(SECTION) else None)
    if saved is None:
        config.add_section(SECTION)
    for option, value in options.items():
        config.set(SECTION, option, str(value))
    clear_cache()

    def restore():
        config.remove_section(SECTION)
        if saved is not None:
            config.add_section(SECTION)
            for option, value in saved.items():
                config.set(SECTION, option, value)
        clear_cache()
    return restore


def clear_cache():
    for getter in [config.get, config.getint, config.getfloat,
            config.getboolean]:
        getter.cache_clear()


class SecretsTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        from proteus import Model
        super().setUpClass()
        cls.config = activate_modules('cloud_billing', setup_billing)
        cls.addClassCleanup(drop_db)
        openstack.register_connection_factory('fake', fake_openstack.connect)
        nova = fake_openstack.reset()
        nova.add_server('p-acme', name='web')

        User = Model.get('res.user')
        Group = Model.get('res.group')
        cls.admin = User(cls.config.user)
        users = {u.login: u for u in User.find(
                [('login', 'in', ['finance', 'finance_manager', 'support'])])}
        sales = User(name="Sales User", login='sales')
        sales.groups.extend(Group.find([('name', '=', "Sales")]))
        sales.companies.append(cls.admin.company)
        sales.company = cls.admin.company
        sales.save()
        users['sales'] = sales
        cls.users = users

        set_user(users['finance_manager'])
        Cloud = Model.get('cloud_billing.cloud')
        cloud = Cloud(
            name="Billing cloud", entry='billing', region='RegionOne')
        cloud.save()

        set_user(users['finance'])
        Subscription = Model.get('sale.subscription')
        subscription = Subscription(party=create_customer("Acme"))
        subscription.start_date = datetime.date(2026, 1, 1)
        subscription.cloud = Cloud(cloud.id)
        subscription.project_id = 'p-acme'
        line = subscription.lines.new(service=get_services()['vcpu'])
        line.quantity = 2
        subscription.click('quote')
        subscription.click('run')
        with cls.config.set_context(FAKE):
            Subscription(subscription.id).click('sync_resources')
        subscription.reload()
        assert len(subscription.cloud_resources) == 1
        cls.subscription_id = subscription.id
        set_user(cls.admin)

    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = folder.name
        set_user(self.admin)

    def configure(self, auth_url, secure='valid'):
        clouds_yaml = leaks.write_config(self.folder, auth_url, secure=secure)
        self.addCleanup(set_options(
                clouds_yaml=clouds_yaml, connect_timeout=2, read_timeout=2,
                connect_retries=0))

    def sync_and_shelve(self):
        """As finance: sync, and run the actions job for a planned shelve

        Returns the captured log of the process at DEBUG.
        """
        from proteus import Model, Wizard
        today = datetime.date.today()
        Action = Model.get('sale.subscription.billing.action')
        action = Action(
            subscription=self.subscription_id, type='shelve',
            planned_date=today, reason="Test of the secrets")
        action.save()
        with leaks.capture_logs() as logs:
            set_user(self.users['finance'])
            Subscription = Model.get('sale.subscription')
            Subscription(self.subscription_id).click('sync_resources')
            Subscription(self.subscription_id).click('collect_usage')
            run = Wizard('sale.subscription.billing.run')
            run.form.date = today
            run.form.job = 'sale.subscription.billing.action|process'
            run.execute('run')
        set_user(self.admin)
        action.reload()
        self.assertIn(action.state, {'failed', 'planned'})
        self.assertEqual(action.attempts, 1)
        return logs.getvalue()

    def read_as(self, login):
        """What login gets through RPC: the subscription's sync error, the
        actions with their events (AccessError messages included)"""
        from proteus import Model
        set_user(self.users[login])
        context = self.config.context
        Subscription = Model.get('sale.subscription')
        Action = Model.get('sale.subscription.billing.action')
        Event = Model.get('sale.subscription.billing.action.event')
        answers = {}
        for key, call in [
                ('sync_error', lambda: Subscription.read(
                        [self.subscription_id], ['cloud_sync_error'],
                        context)),
                # The form as the client shows it to this user.
                ('subscription', lambda: Subscription.read(
                        [self.subscription_id], list(
                            Subscription.fields_view_get(
                                None, 'form', context)['fields']),
                        context)),
                ('actions', lambda: Action.search_read(
                        [('subscription', '=', self.subscription_id)],
                        None, None, None,
                        list(Action.fields_get(None, context)), context)),
                ('events', lambda: Event.search_read(
                        [], None, None, None,
                        list(Event.fields_get(None, context)), context)),
                ]:
            try:
                answers[key] = call()
            except AccessError as e:
                answers[key] = e
        set_user(self.admin)
        return answers

    def assertNothingLeaked(self, log):
        """No piece of the password in log, nor in anything a user reads

        Every place is looked at before failing: the message lists them all.
        """
        from proteus import Model
        found = {}

        def look(where, text):
            if leaks.leaks(text):
                found[where] = text
        look('log', log)
        answers = {login: self.read_as(login)
            for login in ['support', 'sales', 'finance', 'finance_manager']}
        for login, login_answers in answers.items():
            for key, answer in login_answers.items():
                look('%s reads %s' % (login, key),
                    answer.message if isinstance(answer, AccessError)
                    else json.dumps(answer, default=str))
        # Everything stored anywhere else, read as the administrator
        for model in ['ir.email', 'res.notification', 'ir.error',
                'sale.subscription.billing_email',
                'cloud_billing.usage_collection']:
            Model_ = Model.get(model)
            records = Model_.search_read([], None, None, None,
                [f for f, d in Model_._fields.items()
                    if d['type'] in {'char', 'text', 'dict'}],
                self.config.context)
            look(model, json.dumps(records, default=str))
        self.assertEqual(found, {}, '\n\n'.join(
                '%s: %s' % (k, v[:300]) for k, v in found.items()))
        # Support reads that the sync failed; sales does not read the error.
        error, = answers['support']['sync_error']
        self.assertTrue(error['cloud_sync_error'])
        self.assertIsInstance(answers['sales']['sync_error'], AccessError)
        sales = answers['sales']['subscription']
        self.assertNotIsInstance(sales, AccessError, getattr(
                sales, 'message', None))
        self.assertNotIn('cloud_sync_error', sales[0])
        # The actions' detail: the billing roles
        for login in ['support', 'finance', 'finance_manager']:
            action = answers[login]['actions'][-1]
            self.assertTrue(action['last_error'], login)
        return answers

    def test_broken_secure_yaml(self):
        "A secure.yaml PyYAML would quote: named with its line, never quoted"
        self.configure('http://127.0.0.1:%s/v3' % leaks.closed_port(),
            secure='tag')
        log = self.sync_and_shelve()
        answers = self.assertNothingLeaked(log)
        error, = answers['support']['sync_error']
        self.assertIn('secure.yaml is not valid YAML (line 4)',
            error['cloud_sync_error'])
        action = answers['finance_manager']['actions'][-1]
        self.assertIn('secure.yaml is not valid YAML (line 4)',
            action['last_error'])
        # The usage collection could not connect either, and says so
        from proteus import Model
        Collection = Model.get('cloud_billing.usage_collection')
        collection = Collection.find([], order=[('id', 'DESC')])[0]
        self.assertEqual(collection.state, 'failed')
        self.assertIn('secure.yaml is not valid YAML (line 4)',
            collection.error)

    def test_refused_token_echoing_the_password(self):
        "Keystone's 401 echoes the request: nothing of the password is kept"
        with leaks.EchoKeystone() as keystone:
            self.configure(keystone.url)
            log = self.sync_and_shelve()
        self.assertTrue(any(leaks.PASSWORD in r for r in keystone.requests))
        answers = self.assertNothingLeaked(log)
        error, = answers['support']['sync_error']
        self.assertIn('Rejected POST /v3/auth/tokens',
            error['cloud_sync_error'])
        self.assertIn('[redacted]', error['cloud_sync_error'])

    def test_unreachable_auth_url_with_userinfo(self):
        "Nothing listens: the failure names the URL without its user info"
        self.configure('http://billing-bot:%s@127.0.0.1:%s/v3' % (
                leaks.PASSWORD, leaks.closed_port()))
        log = self.sync_and_shelve()
        answers = self.assertNothingLeaked(log)
        error, = answers['support']['sync_error']
        self.assertIn('http://[redacted]@127.0.0.1', error['cloud_sync_error'])
