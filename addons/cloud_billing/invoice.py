# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import Pool, PoolMeta
from subscription_core.validation import InputMixin


class Invoice(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def _billing_close_steps(cls):
        steps = super()._billing_close_steps()
        steps.insert(steps.index('post_billing'), 'set_prepaid_term_date')
        return steps

    @classmethod
    def set_prepaid_term_date(cls, invoices, date):
        """A renewal invoice issued ahead of the term is due from its start

        The payment term of a prepaid cloud invoice counts from the day
        its term starts (the end of the current period), not from the day
        it is issued (Pre-Expiry Invoice Days before).
        """
        pool = Pool()
        SubscriptionLine = pool.get('sale.subscription.line')
        to_write = []
        for invoice in cls.browse(invoices):
            if invoice.state != 'draft' or invoice.payment_term_date:
                continue
            starts = [l.billing_start for l in invoice.lines
                if isinstance(l.origin, SubscriptionLine)
                and l.billing_start and l.origin.subscription.cloud
                and l.origin.subscription.billing_model == 'prepaid']
            if starts and min(starts) > date:
                to_write.extend(([invoice], {
                            'payment_term_date': min(starts)}))
        if to_write:
            cls.write(*to_write)
