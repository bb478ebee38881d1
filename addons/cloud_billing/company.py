# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import PoolMeta

from subscription_core.validation import InputMixin


class Company(InputMixin, metaclass=PoolMeta):
    __name__ = 'company.company'

    @classmethod
    def _billing_cron_modules(cls):
        return super()._billing_cron_modules() | {'cloud_billing'}
