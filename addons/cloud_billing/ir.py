# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The cloud's scheduled jobs (ir.cron methods)."""
from trytond.pool import PoolMeta

from subscription_core.validation import InputMixin

CLOUD_JOBS = [
    ('sale.subscription|sync_cloud_resources', "Sync Cloud Resources"),
    ('sale.subscription|collect_cloud_usage', "Collect Cloud Usage"),
    ]


class Cron(InputMixin, metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend(CLOUD_JOBS)
