# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
from decimal import Decimal
from unittest.mock import patch

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.account_invoice.exceptions import (
    InvoiceTaxValidationError)
from trytond.modules.account_invoice.tests import set_invoice_sequences
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


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

    @with_transaction()
    def test_cron_schedule(self):
        "The jobs run at fixed times, the billing day's in one job"
        Cron = Pool().get('ir.cron')
        crons = Cron.search([('method', 'in', [
                        'ir.cron|run_billing_day',
                        'sale.subscription|create_on_demand_invoices',
                        'sale.subscription.billing.action|process',
                        'sale.subscription|create_billing_lines',
                        'sale.subscription|close_billing_cycle',
                        'account.dunning|run_dunning_ladder',
                        ])])
        self.assertEqual(
            {c.method: (c.interval_number, c.interval_type, c.hour, c.minute)
                for c in crons}, {
                'ir.cron|run_billing_day': (1, 'days', 0, 10),
                'sale.subscription|create_on_demand_invoices': (
                    1, 'hours', None, 0),
                'sale.subscription.billing.action|process': (
                    1, 'hours', None, 30),
                })

    @with_transaction()
    def test_billing_day_runs_jobs_in_order(self):
        "Lines, then the close, then the ladder, then the actions"
        Cron = Pool().get('ir.cron')
        date = datetime.date(2026, 3, 1)
        with patch('subscription_core.billing_run.run_billing_job') as run:
            Cron.run_billing_day(date)
        self.assertEqual([c.args for c in run.call_args_list], [
                ('sale.subscription|create_billing_lines', date),
                ('sale.subscription|close_billing_cycle', date),
                ('account.dunning|run_dunning_ladder', date),
                ('sale.subscription.billing.action|process', date),
                ('sale.subscription.credit|expire', date),
                ])

    @with_transaction()
    def test_new_company_gets_the_jobs(self):
        "A company created after activation is on every job of the module"
        pool = Pool()
        Cron = pool.get('ir.cron')
        ModelData = pool.get('ir.model.data')
        company = create_company()
        data = ModelData.search([
                ('model', '=', 'ir.cron'),
                ('module', '=', 'subscription_core'),
                ])
        crons = Cron.browse([d.db_id for d in data])
        self.assertEqual(len(crons), 5)
        for cron in crons:
            self.assertIn(company, cron.companies)

    def _draft_invoice(self, company, amount):
        """A draft customer invoice of one taxed line of amount

        Sets up the company's chart (a 20 % tax) and fiscal year first.
        """
        create_chart(company, tax=True)
        fiscalyear = set_invoice_sequences(get_fiscalyear(company))
        fiscalyear.save()
        fiscalyear.create_period([fiscalyear])
        pool = Pool()
        Account = pool.get('account.account')
        Invoice = pool.get('account.invoice')
        Journal = pool.get('account.journal')
        Party = pool.get('party.party')
        Tax = pool.get('account.tax')
        revenue, = Account.search([
                ('type.revenue', '=', True),
                ('closed', '!=', True),
                ], limit=1)
        receivable, = Account.search([
                ('type.receivable', '=', True),
                ('closed', '!=', True),
                ], limit=1)
        tax, = Tax.search([])
        journal, = Journal.search([('type', '=', 'revenue')])
        party = Party(name="Customer", addresses=[{}])
        party.save()
        invoice = Invoice(
            type='out', company=company, currency=company.currency,
            party=party, invoice_address=party.addresses[0],
            account=receivable, journal=journal,
            lines=[{
                    'type': 'line', 'account': revenue, 'quantity': 1,
                    'unit_price': amount, 'description': "Service",
                    'taxes': [tax],
                    }])
        invoice.save()
        Invoice.update_taxes([invoice])
        return invoice

    @with_transaction()
    def test_post_billing_taxes(self):
        """The close posts the taxes of the lines, computed for its date

        It computes them once for the posting date and Tryton checks them
        once when the move is made; not again on each save inside post
        (number, amounts cache, move), whose updates are deferred.
        """
        pool = Pool()
        Invoice = pool.get('account.invoice')
        date = datetime.date.today().replace(day=1)
        company = create_company()
        with set_company(company):
            invoice = self._draft_invoice(company, Decimal('100.00'))

            compute = Invoice._compute_taxes
            with patch.object(Invoice, '_compute_taxes', autospec=True,
                    side_effect=compute) as computed:
                Invoice.post_billing([invoice], date)

            self.assertEqual(computed.call_count, 2)
            invoice = Invoice(invoice.id)
            self.assertEqual(invoice.state, 'posted')
            self.assertEqual(invoice.invoice_date, date)
            self.assertEqual(invoice.tax_amount, Decimal('20.00'))
            self.assertEqual(invoice.move.state, 'posted')
            self.assertEqual(
                sum(l.debit for l in invoice.move.lines), Decimal('120.00'))

    @with_transaction()
    def test_post_billing_deferred_taxes_checked(self):
        "With tax updates deferred, stale taxes are refused, never posted"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        company = create_company()
        with set_company(company):
            invoice = self._draft_invoice(company, Decimal('100.00'))

            with Transaction().set_context(
                    _billing_defer_taxes=True, _skip_warnings=True):
                InvoiceLine.write(list(invoice.lines), {
                        'unit_price': Decimal('150.00'),
                        })
                invoice = Invoice(invoice.id)
                # Deferred: the taxes are still those of 100.00
                self.assertEqual(invoice.taxes[0].base, Decimal('100.00'))
                with self.assertRaises(InvoiceTaxValidationError):
                    Invoice.post([invoice])

    @with_transaction()
    def test_missing_maturity_is_due_at_once(self):
        """An amount to pay without maturity date is overdue at once, in
        Python (the ladder) and in SQL (the dashboard); with a maturity
        date, the day after it"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        date = datetime.date.today().replace(day=1)
        company = create_company()
        cursor = Transaction().connection.cursor()
        line = MoveLine.__table__()

        def due(maturity):
            line_to_pay, = Invoice(invoice.id).lines_to_pay
            cursor.execute(*line.update([line.maturity_date], [maturity],
                    where=line.id == line_to_pay.id))
            Transaction().cache.clear()
            query = Invoice._billing_due_query(date)
            cursor.execute(*query.select(
                    query.invoice, query.amount, query.oldest_due_date))
            rows = [(i, Decimal(str(a)), str(d)[:10])
                for i, a, d in cursor]
            return Invoice(invoice.id).is_billing_overdue(date), rows

        with set_company(company):
            invoice = self._draft_invoice(company, Decimal('100.00'))
            Invoice.post_billing([invoice], date)

            self.assertEqual(due(None), (True,
                    [(invoice.id, Decimal('120.00'), str(date))]))
            self.assertEqual(due(date), (False, []))
            yesterday = date - datetime.timedelta(days=1)
            self.assertEqual(due(yesterday), (True,
                    [(invoice.id, Decimal('120.00'), str(yesterday))]))


    @with_transaction()
    def test_usage_rows_query(self):
        """The rating reads the rows with the search's own query (its
        conditions and access rules), or by its ids when it cannot"""
        pool = Pool()
        Consumption = pool.get('sale.subscription.line.consumption')
        RuleGroup = pool.get('ir.rule.group')
        domain = [('line', 'in', [1, 2]), ('invoice_line', '=', None)]
        cursor = Transaction().connection.cursor()

        def rows_query(by_date=True):
            query = Consumption.search(domain, order=[], query=True)
            return query, Consumption._usage_rows_query(query, by_date)

        query, rows = rows_query()
        self.assertIs(rows, query)
        self.assertEqual([c.output_name.split(' ')[0] for c in rows.columns],
            ['id', 'line', 'date', 'consumed_at', 'quantity', 'invoice_line'])
        self.assertIn('ORDER BY', str(rows))
        cursor.execute(*rows)
        self.assertEqual(cursor.fetchall(), [])
        # An access rule stays in the query
        RuleGroup.create([{
                    'name': "Small consumptions",
                    'model': 'sale.subscription.line.consumption',
                    'global_p': True,
                    'rules': [('create', [{
                                    'domain': '[["quantity", "<", 5]]',
                                    }])],
                    }])
        with Transaction().set_user(1), \
                Transaction().set_context(_check_access=True):
            query, rows = rows_query(by_date=False)
            self.assertIs(rows, query)
            self.assertIn('"quantity" <', str(rows))
            cursor.execute(*rows)
        # A query that is not a plain select of the table: by its ids
        table = Consumption.__table__()
        other = Consumption.__table__()
        joined = table.join(other, condition=table.id == other.id).select(
            table.id.as_('id'))
        rows = Consumption._usage_rows_query(joined, True)
        self.assertIsNot(rows, joined)
        self.assertIn(' IN (SELECT', str(rows))
        cursor.execute(*rows)
        self.assertEqual(cursor.fetchall(), [])


del ModuleTestCase
