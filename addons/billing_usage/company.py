# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import PoolMeta


class Company(metaclass=PoolMeta):
    __name__ = 'company.company'

    @classmethod
    def _billing_cron_modules(cls):
        return super()._billing_cron_modules() | {'billing_usage'}
