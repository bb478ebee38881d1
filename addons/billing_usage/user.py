# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import PoolMeta

from subscription_core.validation import InputMixin

APPLICATION = 'billing_usage'


class UserApplication(InputMixin, metaclass=PoolMeta):
    """Keys of the billing_usage application; the arguments of create,
    write and the buttons sent by RPC are checked (tests/fuzz)"""
    __name__ = 'res.user.application'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.application.selection.append((APPLICATION, "Billing Usage"))
