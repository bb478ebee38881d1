# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The floor of the ``monthly_run`` workload: the ORM writes alone

``floor`` is not an engine: it reads the subscription lines and only
writes, through the ORM, the records that N posted invoices of 3 lines
consist of in Tryton, in batches of 50 customers, as bulk ``create`` and
``write`` calls:

- the draft invoice, its 3 lines and its tax line (one ``Invoice.create``);
- its move of 5 lines (3 revenue, 1 tax, 1 receivable) (one
  ``Move.create``), posted by ``Move.post`` (which numbers the moves);
- the invoice's number and move, then its state (two ``Invoice.write``
  calls: a posted invoice cannot be written).

It computes nothing: it reads the subscription lines once, as any engine
must (inside the measured time), sums their amounts and reads the accounts
and the tax once; account_invoice's recomputation of the taxes on every
save of a draft is turned off. It runs no business rule of the engine or of
``account.invoice.post`` (no periods, no prorata, no credits, no tax engine,
no strict invoice sequence, no amounts cache) and never reads back what it
wrote. So no engine that stores its invoices through Tryton's ORM, whatever
it computes and however it batches, can be faster: stock seconds / floor
seconds is the highest ratio any of them can reach on this machine
(``max_ratio`` in the results).

The ORM still validates every record it creates or writes (required fields,
domains, access rules), as it does for both real paths: that validation is
what the issue forbids skipping.
"""
import time
from decimal import Decimal

from monthly_run import OURS_DATE, _context, in_transaction

BATCH = 50


def run_floor(database):
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    context = _context(database)
    data = {}

    def read():
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Journal = pool.get('account.journal')
        Period = pool.get('account.period')
        Company = pool.get('company.company')
        company = Company(context['company'])
        journal, = Journal.search([('type', '=', 'revenue')], limit=1)
        period = Period.find(company, date=OURS_DATE)
        customers = {}
        products = {}
        for line in Line.search([], order=[('id', 'ASC')]):
            subscription = line.subscription
            party = subscription.party
            product = line.service.product
            if product.id not in products:
                tax, = product.customer_taxes_used
                products[product.id] = (
                    product.account_revenue_used.id, tax.id,
                    tax.invoice_account.id, tax.rate)
            customer = customers.setdefault(subscription.id, {
                    'party': party.id,
                    'address': subscription.invoice_address.id,
                    'receivable': party.account_receivable_used.id,
                    'lines': [],
                    })
            customer['lines'].append((product.id, line.unit.id,
                    line.quantity, line.unit_price, line.service.rec_name))
        data.update(customers=list(customers.values()),
            products=products, journal=journal.id, period=period.id,
            company=company.id, currency=company.currency.id)

    def write(customers):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Move = pool.get('account.move')
        products = data['products']
        invoices, moves = [], []
        for customer in customers:
            untaxed = sum((Decimal(str(q)) * p
                    for _, _, q, p, _ in customer['lines']), Decimal(0)
                ).quantize(Decimal('0.01'))
            _, tax, tax_account, rate = products[customer['lines'][0][0]]
            tax_amount = (untaxed * rate).quantize(Decimal('0.01'))
            invoices.append({
                    'type': 'out',
                    'company': data['company'],
                    'currency': data['currency'],
                    'journal': data['journal'],
                    'party': customer['party'],
                    'invoice_address': customer['address'],
                    'account': customer['receivable'],
                    'invoice_date': OURS_DATE,
                    'lines': [('create', [{
                                    'type': 'line',
                                    'company': data['company'],
                                    'currency': data['currency'],
                                    'product': product,
                                    'unit': unit,
                                    'quantity': quantity,
                                    'unit_price': price,
                                    'account': products[product][0],
                                    'description': description,
                                    'taxes': [('add', [products[product][1]])],
                                    }
                                for product, unit, quantity, price, description
                                in customer['lines']])],
                    'taxes': [('create', [{
                                    'description': "Tax",
                                    'tax': tax,
                                    'account': tax_account,
                                    'base': untaxed,
                                    'amount': tax_amount,
                                    'manual': False,
                                    }])],
                    })
            lines = [{
                    'account': products[product][0],
                    'debit': Decimal(0),
                    'credit': (Decimal(str(quantity)) * price).quantize(
                        Decimal('0.01')),
                    } for product, _, quantity, price, _
                in customer['lines']]
            lines.append({'account': tax_account, 'debit': Decimal(0),
                    'credit': tax_amount})
            lines.append({'account': customer['receivable'],
                    'party': customer['party'],
                    'debit': untaxed + tax_amount, 'credit': Decimal(0),
                    'maturity_date': OURS_DATE})
            moves.append({
                    'company': data['company'],
                    'journal': data['journal'],
                    'period': data['period'],
                    'date': OURS_DATE,
                    'lines': [('create', lines)],
                    })
        invoices = Invoice.create(invoices)
        for invoice, move in zip(invoices, moves):
            move['origin'] = str(invoice)
        moves = Move.create(moves)
        Move.post(moves)
        Invoice.write(*(v for invoice, move in zip(invoices, moves)
                for v in ([invoice], {
                            'number': 'F%06d' % invoice.id,
                            'move': move.id,
                            })))
        Invoice.write(invoices, {'state': 'posted'})

    start = time.perf_counter()
    in_transaction(database, context, read)
    customers = data['customers']

    def write_all():
        # Posting locks the move sequence and the journal period when it
        # first needs them and the transaction restarts with the locks
        # taken (as ir.cron does): a first batch of one makes that cheap,
        # as in the engine's close. Saving a draft invoice makes
        # account_invoice compute its taxes again (on_modification); the
        # floor gives them: the engine's deferral context turns that off.
        with Transaction().set_context(_billing_defer_taxes=True):
            write(customers[:1])
            for i in range(1, len(customers), BATCH):
                write(customers[i:i + BATCH])
    in_transaction(database, context, write_all)
    return time.perf_counter() - start
