# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class SubscriptionCoreTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Subscription Core module"
    module = 'subscription_core'


del ModuleTestCase
