# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""From subscription lines to an OpenStack project quota, as plain Python.

A service maps to one quota key with an integer multiplier (RAM sold in GiB
is a Nova ``ram`` quota in MB: multiplier 1024). The quota of a project is,
per key, the sum over its lines of ``limit × multiplier``; it must come out
as a whole number of at least zero (Nova quotas are integers).
"""
from decimal import Decimal

__all__ = ['QUOTA_KEYS', 'QuotaError', 'project_quota', 'format_quota']

# key, label: the compute quotas of Nova and the block storage quotas of
# Cinder that a subscription line may drive.
QUOTA_KEYS = [
    ('cores', "Cores (vCPU)"),
    ('ram', "RAM (MB)"),
    ('instances', "Instances"),
    ('volumes', "Volumes"),
    ('gigabytes', "Volume Storage (GB)"),
    ]


class QuotaError(ValueError):
    "A line does not give a whole, non-negative quota"

    def __init__(self, key, value, item=None):
        super().__init__(key, value, item)
        self.key = key
        self.value = value
        self.item = item


def _decimal(value):
    if isinstance(value, float):
        # Tryton stores quantities as floats: take their shortest repr.
        return Decimal(repr(value))
    return Decimal(value)


def project_quota(items):
    """{key: limit} of items (key, quantity, multiplier[, item])

    Items without a key are ignored. Raises QuotaError when an item's
    quantity × multiplier is not a whole number or is negative (item is the
    fourth element, for the message).
    """
    totals = {}
    for key, quantity, multiplier, *item in items:
        if not key:
            continue
        item = item[0] if item else None
        value = _decimal(quantity or 0) * int(multiplier)
        if value < 0 or value != value.to_integral_value():
            raise QuotaError(key, value, item)
        totals[key] = totals.get(key, 0) + int(value)
    return totals


def format_quota(quota):
    "A short text of quota, in the order of QUOTA_KEYS"
    order = [k for k, _ in QUOTA_KEYS]
    keys = sorted(quota, key=lambda k: (
            order.index(k) if k in order else len(order), k))
    return ', '.join('%s=%s' % (k, quota[k]) for k in keys)
