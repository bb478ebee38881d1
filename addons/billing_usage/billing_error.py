# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import PoolMeta

# The jobs of the rows, whose subscriptions fail alone (row.py)
ROW_JOBS = [
    ('billing_usage.row|generate', "Generate Usage Rows"),
    ('billing_usage.row|generate_hours', "Generate Hourly Usage Rows"),
    ]


class BillingError(metaclass=PoolMeta):
    __name__ = 'sale.subscription.billing_error'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.job.selection = cls.job.selection + ROW_JOBS
