# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class SubscriptionCoreTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Subscription Core module"
    module = 'subscription_core'

    @with_transaction()
    def test_billing_close_steps(self):
        "The close applies compensations, then credits, then posts"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        self.assertEqual(Invoice._billing_close_steps(), [
                'apply_billing_compensations', 'apply_billing_credits',
                'post_billing'])


del ModuleTestCase
