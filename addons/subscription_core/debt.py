# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The debt: which subscription an invoice line bills, and whether it is due.

One home for the two questions the ladder, the billing actions, the
compensations, the credits and the cloud dashboard all ask:

* *Which subscription does this invoice line bill?* A line bills the
  subscription of its origin; ``InvoiceLine._billed_origins()`` lists the
  origins that bill one and the path from each to its subscription. From that
  one hook come the Python answer (``billed_subscription``), the search
  domain (``billed_subscription_domain``) and the SQL
  (``billed_subscription_query``). A module adding an origin (compensations)
  extends the hook only.
* *Is the invoice overdue?* Its unpaid amounts to pay (debit) whose maturity
  date is missing or before the date (``ladder.is_overdue``): in Python
  (``Invoice.is_billing_overdue``) and in SQL (``Invoice.billing_debt_query``,
  which also shares the amount of an invoice billing several subscriptions
  between them by what their lines bill).
"""
from collections import defaultdict

from sql import Literal, Null, Union, Window
from sql.aggregate import Min, Sum
from sql.conditionals import Coalesce, NullIf

from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from . import ladder
from .validation import InputMixin


class InvoiceLine(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _billed_origins(cls):
        """{origin model: path from the origin to the subscription it bills}

        The hook for a module adding an origin that bills a subscription.
        """
        return {
            'sale.subscription.line': 'subscription',
            'sale.subscription.line.limit_change': 'line.subscription',
            'sale.subscription.line.consumption': 'line.subscription',
            }

    @property
    def billed_subscription(self):
        "The subscription this line bills, None if it bills none"
        origin = self.origin
        if origin is None or origin.id is None or origin.id < 0:
            return None
        path = self._billed_origins().get(getattr(origin, '__name__', None))
        if not path:
            return None
        for name in path.split('.'):
            origin = getattr(origin, name)
            if origin is None:
                return None
        return origin

    @property
    def owed_subscription(self):
        """The subscription the line's amount is owed for

        The one it bills, else the invoice's billing subscription (the
        customer is invoiced per subscription): the rule of the SQL shares
        (Invoice._billing_shares_query).
        """
        return (self.billed_subscription
            or (self.invoice.billing_subscription if self.invoice else None))

    @classmethod
    def billed_subscription_domain(cls, subscription_ids):
        "Domain of the lines that bill the subscriptions"
        return ['OR'] + [
            ('origin.' + path, 'in', subscription_ids, model)
            for model, path in cls._billed_origins().items()]

    @classmethod
    def billed_subscription_query(cls):
        """SQL of (line, subscription) for each line billing a subscription

        One join chain per origin of _billed_origins, following its path.
        """
        pool = Pool()
        queries = []
        origin_field = cls.origin
        for model, path in cls._billed_origins().items():
            Model = pool.get(model)
            line = cls.__table__()
            table = Model.__table__()
            from_ = line.join(table, condition=(
                    line.origin.like(model + ',%')
                    & (table.id == origin_field.sql_id(line.origin, Model))))
            *names, last = path.split('.')
            for name in names:
                Model = pool.get(Model._fields[name].model_name)
                target = Model.__table__()
                from_ = from_.join(target,
                    condition=getattr(table, name) == target.id)
                table = target
            queries.append(from_.select(
                    line.id.as_('line'),
                    getattr(table, last).as_('subscription')))
        return Union(*queries, all_=True)


class Invoice(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def get_billed_subscriptions(cls, invoices):
        """Return {invoice id: [subscriptions]} the invoices bill

        Those their lines bill and their billing subscription.
        """
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        result = defaultdict(dict)
        ids = list({i.id for i in invoices})
        with without_check_access():
            for invoice in cls.browse(ids):
                if invoice.billing_subscription:
                    subscription = invoice.billing_subscription
                    result[invoice.id][subscription.id] = subscription
            lines = InvoiceLine.search([
                    ('invoice', 'in', ids),
                    ], order=[('id', 'ASC')])
            for line in lines:
                subscription = line.billed_subscription
                if subscription:
                    result[line.invoice.id][subscription.id] = subscription
        return {k: sorted(v.values(), key=lambda s: s.id)
            for k, v in result.items()}

    def is_billing_overdue(self, date):
        "Whether the posted invoice has an unpaid amount overdue on date"
        if self.state != 'posted':
            return False
        return ladder.is_overdue(
            [l.maturity_date for l in self.lines_to_pay
                if not l.reconciliation and l.debit > l.credit], date)

    @classmethod
    def _billing_shares_query(cls):
        """SQL of (invoice, subscription, part, total) of customer invoices

        part is what the invoice's lines bill the subscription (a line
        without a billed origin bills the invoice's billing subscription),
        total what they bill all the subscriptions of the invoice.
        """
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        line = InvoiceLine.__table__()
        invoice = cls.__table__()
        billed = InvoiceLine.billed_subscription_query()
        subscription = Coalesce(billed.subscription,
            invoice.billing_subscription)
        parts = (line
            .join(invoice, condition=invoice.id == line.invoice)
            .join(billed, 'LEFT', condition=billed.line == line.id)
            .select(
                invoice.id.as_('invoice'),
                subscription.as_('subscription'),
                Sum(line.quantity * line.unit_price).as_('part'),
                where=((invoice.type == 'out')
                    & (line.type == 'line')
                    & (subscription != Null)),
                group_by=[invoice.id, subscription]))
        return parts.select(
            parts.invoice, parts.subscription, parts.part,
            Sum(parts.part, window=Window([parts.invoice])).as_('total'))

    @classmethod
    def _billing_due_query(cls, date):
        """SQL per posted customer invoice: its unpaid amount overdue on
        date and the oldest due date of it (the rule of is_billing_overdue;
        a missing maturity date is due at once and shows the invoice date)
        """
        pool = Pool()
        MoveLine = pool.get('account.move.line')
        AdditionalMove = pool.get('account.invoice-additional-account.move')
        invoice = cls.__table__()
        invoice2 = cls.__table__()
        line = MoveLine.__table__()
        line2 = MoveLine.__table__()
        additional = AdditionalMove.__table__()
        # The lines to pay: those of the invoice's move and additional
        # moves on its account (as Invoice._query_lines_to_pay).
        to_pay = Union(
            invoice.join(line, condition=(
                    (line.move == invoice.move)
                    & (line.account == invoice.account)))
            .select(invoice.id.as_('invoice'), line.id.as_('line'),
                where=(invoice.type == 'out') & (invoice.state == 'posted')),
            invoice2.join(additional,
                condition=additional.invoice == invoice2.id)
            .join(line2, condition=(
                    (line2.move == additional.move)
                    & (line2.account == invoice2.account)))
            .select(invoice2.id.as_('invoice'), line2.id.as_('line'),
                where=((invoice2.type == 'out')
                    & (invoice2.state == 'posted'))))
        invoice3 = cls.__table__()
        line3 = MoveLine.__table__()
        return (to_pay
            .join(line3, condition=line3.id == to_pay.line)
            .join(invoice3, condition=invoice3.id == to_pay.invoice)
            .select(
                to_pay.invoice.as_('invoice'),
                Sum(line3.debit - line3.credit).as_('amount'),
                Min(Coalesce(line3.maturity_date, invoice3.invoice_date)
                    ).as_('oldest_due_date'),
                where=((line3.reconciliation == Null)
                    & (line3.debit > line3.credit)
                    & ((line3.maturity_date == Null)
                        | (line3.maturity_date < date))),
                group_by=[to_pay.invoice]))

    @classmethod
    def billing_debt_query(cls, date):
        """SQL per subscription: its unpaid amount overdue on date and the
        oldest due date of it

        An invoice billing several subscriptions (a customer invoiced per
        customer) counts its amount once: each subscription has the share
        its lines bill.
        """
        due = cls._billing_due_query(date)
        shares = cls._billing_shares_query()
        # * 1.0: SQLite divides integers (whole amounts) without decimals.
        amount = (due.amount * shares.part * Literal(1.0)
            / NullIf(shares.total, 0))
        return (due
            .join(shares, condition=shares.invoice == due.invoice)
            .select(
                shares.subscription.as_('subscription'),
                Sum(amount).as_('amount'),
                Min(due.oldest_due_date).as_('oldest_due_date'),
                group_by=[shares.subscription]))

    @classmethod
    def paid(cls, invoices):
        newly = [i.id for i in invoices
            if i.type == 'out' and i.state != 'paid']
        super().paid(invoices)
        if newly:
            cls.on_billing_debt_paid(
                [i for i in cls.browse(newly) if i.state == 'paid'])

    @classmethod
    def on_billing_debt_paid(cls, invoices):
        "Call Subscription.on_debt_paid for the subscriptions invoices bill"
        pool = Pool()
        Date = pool.get('ir.date')
        Subscription = pool.get('sale.subscription')
        if not invoices:
            return
        billed = cls.get_billed_subscriptions(invoices)
        subscriptions = {s.id: s for subs in billed.values() for s in subs}
        if subscriptions:
            paid = [i for i in invoices if billed.get(i.id)]
            with without_check_access():
                Subscription.on_debt_paid(
                    Subscription.browse(sorted(subscriptions)), paid,
                    Date.today())


class Subscription(InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def get_billed_invoices(cls, subscriptions, states=None):
        """Return {subscription id: [invoices]} billing the subscriptions

        Customer invoices whose lines bill the subscriptions
        (account.invoice.line.billed_subscription), in states when given.
        """
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        ids = [s.id for s in subscriptions]
        result = {i: set() for i in ids}
        if not ids:
            return {}
        with without_check_access():
            domain = [
                ('invoice.type', '=', 'out'),
                InvoiceLine.billed_subscription_domain(ids),
                ]
            if states:
                domain.append(('invoice.state', 'in', list(states)))
            lines = InvoiceLine.search(domain)
            for line in lines:
                subscription = line.billed_subscription
                if subscription and subscription.id in result:
                    result[subscription.id].add(line.invoice)
        return {k: sorted(v, key=lambda i: i.id) for k, v in result.items()}

    @classmethod
    def get_overdue_invoices(cls, subscriptions, date):
        "Return {subscription id: [invoices]} unpaid and overdue on date"
        invoices = cls.get_billed_invoices(subscriptions, states=['posted'])
        return {k: [i for i in v if i.is_billing_overdue(date)]
            for k, v in invoices.items()}
