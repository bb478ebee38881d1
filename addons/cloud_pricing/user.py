# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import PoolMeta

from subscription_core.validation import InputMixin

APPLICATION = 'cloud_pricing'


class UserApplication(InputMixin, metaclass=PoolMeta):
    "Keys of the price route (the application cloud_pricing)"
    __name__ = 'res.user.application'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.application.selection.append((APPLICATION, "Cloud Pricing"))
