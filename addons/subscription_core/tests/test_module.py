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


del ModuleTestCase
