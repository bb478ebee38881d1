# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import PoolMeta

CLOUD_BILLING_STATUSES = [
    ('shelved', "Shelved"),
    ('pending_deletion', "Pending Deletion"),
    ('deleted', "Deleted"),
    ]


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        selection = list(cls.billing_status.selection)
        for value in CLOUD_BILLING_STATUSES:
            if value not in selection:
                selection.append(value)
        cls.billing_status.selection = selection
