"""Faults of OpenStack, through the billing actions: 409, 404, 500, a
timeout, a server in ERROR, a server's UUID found in another project (a
quota refused: ``test_action.py`` ``test_change_limit_quota_refused``).

Each test injects its fault into the fake Nova (``fake_openstack``) and
runs the action the way the queued task runs it (``ActionTestMixin
.attempt``), then asserts that nothing is lost: the action is not left
running (retried later with its error, or failed for a person), no step
email is queued for a step not done, the server of a paying customer in
another project gets no request; once the fault is gone, a retried
action is done, each server shelved by one accepted request (the shelved
ones are not asked again), with one email.

The adapter's own answer to each fault (``openstack.py``) is proven by
``addons/cloud_billing/tests/test_openstack.py``; see doc/faults.rst.
"""
import unittest

from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from cloud_billing.tests.test_action import ActionTestMixin
from cloud_billing.tests.test_module import OTHER, PROJECT


class OpenStackFaultsTestCase(ActionTestMixin, unittest.TestCase):
    "OpenStack faults, nothing lost"

    def setup_fault(self, company, subscription):
        """Servers a and b of the subscription, c of a paying customer of
        another project; the shelve of the subscription planned"""
        self.a = self.cloud.add_server(PROJECT, name='a')
        self.b = self.cloud.add_server(PROJECT, name='b')
        self.sync(subscription)
        paying = self.create_subscription(company, [], project_id=OTHER,
            cloud=subscription.cloud)
        self.c = self.cloud.add_server(OTHER, name='c')
        self.sync(paying)
        return self.plan(subscription, 'shelve')

    def email_tasks(self):
        "The step emails queued, as (action id, kind)"
        Queue = Pool().get('ir.queue')
        return [(i, t.data['args'][0]) for t in Queue.search([])
            if t.data.get('method') == 'send_step_email'
            for i in t.data['instances']]

    def assertNothingLost(self, action, state, error=None):
        "The action waits (or failed) with its error; c untouched; no email"
        self.assertEqual(action.state, state)
        self.assertEqual(action.attempts, 1)
        if error:
            self.assertIn(error, action.last_error)
        self.assertEqual(action.subscription.billing_status, 'active')
        self.assertEqual(self.email_tasks(), [])
        self.assertEqual(self.cloud.servers[self.c.id].status, 'ACTIVE')
        self.assertFalse([p for _, p in self.cloud.actions()
                if self.c.id in p and _ != 'GET'])

    def assertDoneOnce(self, action):
        "Retried without the fault: done, each server shelved once, one email"
        action = self.attempt(action)
        self.assertEqual((action.state, action.attempts), ('done', 2))
        self.assertEqual(action.subscription.billing_status, 'shelved')
        for server in [self.a, self.b]:
            self.assertEqual(
                self.cloud.servers[server.id].status, 'SHELVED_OFFLOADED')
        # a was shelved by the first attempt and not asked again; b once
        # refused (or timed out), once shelved
        posts = [p.split('/')[2] for m, p in self.cloud.actions('POST')]
        self.assertEqual(
            {s: posts.count(s) for s in set(posts)},
            {self.a.id: 1, self.b.id: 2})
        self.assertEqual(self.email_tasks(), [(action.id, 'shelved')])
        self.assertEqual(self.cloud.servers[self.c.id].status, 'ACTIVE')

    def retried(self, fault):
        "A fault on b's shelve that the action retries"
        with self.remote_subscription() as (company, subscription):
            action = self.setup_fault(company, subscription)
            self.cloud.inject('shelve_server', self.b.id, fault=fault)

            action = self.attempt(action)

            self.assertNothingLost(action, 'planned', self.b.id)
            self.assertDoneOnce(action)

    @with_transaction()
    def test_409(self):
        "409 (conflicting request): retried, then done"
        self.retried(409)

    @with_transaction()
    def test_500(self):
        "500 (compute fault): retried, then done"
        self.retried(500)

    @with_transaction()
    def test_timeout(self):
        "A timeout (nothing done there): retried, then done"
        self.retried('timeout')

    @with_transaction()
    def test_404(self):
        "404: the server is gone, not an error; the others are shelved"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with self.remote_subscription() as (company, subscription):
            action = self.setup_fault(company, subscription)
            del self.cloud.servers[self.b.id]

            action = self.attempt(action)

            self.assertEqual(action.state, 'done')
            self.assertEqual(
                self.cloud.servers[self.a.id].status, 'SHELVED_OFFLOADED')
            resource, = Resource.search([('uuid', '=', self.b.id)])
            self.assertTrue(resource.gone)
            self.assertEqual(self.email_tasks(), [(action.id, 'shelved')])
            self.assertEqual(self.cloud.servers[self.c.id].status, 'ACTIVE')

    @with_transaction()
    def test_error_state(self):
        "A server in ERROR fails the action: a person looks"
        with self.remote_subscription() as (company, subscription):
            action = self.setup_fault(company, subscription)
            self.cloud.servers[self.b.id].status = 'ERROR'

            action = self.attempt(action)

            self.assertNothingLost(action, 'failed', self.b.id)
            self.assertIn('ERROR', action.last_error)

    @with_transaction()
    def test_uuid_in_another_project(self):
        "A recorded UUID now in another project: refused, never touched"
        with self.remote_subscription() as (company, subscription):
            action = self.setup_fault(company, subscription)
            # The server was deleted and its UUID is now another project's
            self.cloud.servers[self.b.id].project_id = OTHER

            action = self.attempt(action)

            self.assertNothingLost(action, 'failed', self.b.id)
            self.assertIn(OTHER, action.last_error)
            self.assertEqual(self.cloud.servers[self.b.id].status, 'ACTIVE')
            self.assertNotIn(('POST', '/servers/%s/action' % self.b.id),
                self.cloud.actions())
