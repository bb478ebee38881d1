# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.model import Check, fields
from trytond.pool import PoolMeta
from trytond.pyson import Bool, Eval

from .quota import QUOTA_KEYS
from subscription_core.bounds import Bound
from subscription_core.validation import InputMixin, check_bounds

# 1024 × 1024: RAM sold in TiB for a quota in MB
QUOTA_MULTIPLIER = Bound(1, 2 ** 20)


class Service(InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription.service'

    quota_key = fields.Selection([(None, "")] + QUOTA_KEYS, "OpenStack Quota",
        help="The quota of the OpenStack project that the limit of a "
        "subscription line of this service sets.")
    quota_multiplier = fields.Integer(
        "Quota Multiplier",
        states={
            'invisible': ~Eval('quota_key'),
            'required': Bool(Eval('quota_key')),
            },
        help="Quota units per unit of the line's limit, e.g. 1024 for RAM "
        "sold in GiB (the Nova RAM quota is in MB).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('quota_multiplier_positive',
                Check(t, (t.quota_multiplier == None)  # noqa: E711
                    | (t.quota_multiplier > 0)),
                'cloud_billing.msg_quota_multiplier_positive'),
            ]

    @classmethod
    def default_quota_multiplier(cls):
        return 1

    @classmethod
    def validate_fields(cls, services, field_names):
        super().validate_fields(services, field_names)
        check_bounds(services, field_names, {
                'quota_multiplier': QUOTA_MULTIPLIER,
                })
