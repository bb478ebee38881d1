# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class CloudBillingTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Cloud Billing module"
    module = 'cloud_billing'


del ModuleTestCase
