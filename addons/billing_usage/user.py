# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import PoolMeta

APPLICATION = 'billing_usage'


class UserApplication(metaclass=PoolMeta):
    __name__ = 'res.user.application'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.application.selection.append((APPLICATION, "Billing Usage"))
