# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class BillingUsageTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Billing Usage module"
    module = 'billing_usage'

    @with_transaction()
    def test_cron_before_billing_day(self):
        "The rows are made at 00:05, before the billing day's jobs (00:10)"
        Cron = Pool().get('ir.cron')
        cron, = Cron.search([('method', '=', 'billing_usage.row|generate')])
        self.assertEqual(
            (cron.interval_number, cron.interval_type, cron.hour,
                cron.minute), (1, 'days', 0, 5))

    @with_transaction()
    def test_user_application(self):
        "Keys can be issued for the billing_usage application"
        UserApplication = Pool().get('res.user.application')
        self.assertIn('billing_usage', dict(
                UserApplication.fields_get(['application'])[
                    'application']['selection']))


del ModuleTestCase
