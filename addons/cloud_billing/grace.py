# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Dates of the grace workflow, without the ORM.

The configuration (``configuration.py``) gives per company how long each
step lasts; these functions turn them into the days the billing actions are
planned for. A missing, zero or negative duration is never "at once": the
functions raise ``GraceSettingError`` and the caller plans nothing.
"""
import datetime

__all__ = ['GraceSettingError', 'check_settings', 'shelve_date',
    'deletion_date', 'warning_date', 'lead_days', 'DEFAULTS']

# Defaults of the configuration
DEFAULTS = {
    'pre_expiry_days': 7,
    'shelve_grace_hours': 48,
    'retention_days': 14,
    'deletion_warning_days': 7,
    'destructive_limit': 10,
    }


class GraceSettingError(ValueError):
    "A duration of the workflow is missing or not positive"

    def __init__(self, name, value):
        super().__init__("%s must be positive, not %r" % (name, value))
        self.name = name
        self.value = value


def _positive(name, value):
    if value is None or isinstance(value, bool) or value <= 0:
        raise GraceSettingError(name, value)
    return value


def check_settings(pre_expiry_days, shelve_grace_hours, retention_days,
        deletion_warning_days, destructive_limit):
    """Raise GraceSettingError for the first setting that is not valid

    Every duration and the limit are positive; the warning comes at most
    on the day of the shelve (warning days ≤ retention days).
    """
    _positive('pre_expiry_days', pre_expiry_days)
    _positive('shelve_grace_hours', shelve_grace_hours)
    _positive('retention_days', retention_days)
    _positive('deletion_warning_days', deletion_warning_days)
    _positive('destructive_limit', destructive_limit)
    if deletion_warning_days > retention_days:
        raise GraceSettingError('deletion_warning_days', deletion_warning_days)


def shelve_date(grace_start, shelve_grace_hours):
    """The day the servers are shelved when the grace started on grace_start

    The billing jobs run once a day: the grace lasts whole days, rounded up
    (48 hours → 2 days, 30 hours → 2 days).
    """
    hours = _positive('shelve_grace_hours', shelve_grace_hours)
    days = -(-int(hours) // 24)
    return grace_start + datetime.timedelta(days=days)


def deletion_date(shelved_on, retention_days):
    "The day the servers are deleted when shelved on shelved_on"
    days = _positive('retention_days', retention_days)
    return shelved_on + datetime.timedelta(days=int(days))


def warning_date(deletion, deletion_warning_days, shelved_on=None):
    """The day the pre-deletion warning goes out for a deletion day

    Never before the shelve (shelved_on) nor on the deletion day itself.
    """
    days = _positive('deletion_warning_days', deletion_warning_days)
    date = deletion - datetime.timedelta(days=int(days))
    if shelved_on is not None and date < shelved_on:
        date = shelved_on
    return min(date, deletion - datetime.timedelta(days=1))


def lead_days(pre_expiry_days):
    "The lead of a prepaid renewal invoice as a timedelta (0 when unset)"
    if pre_expiry_days is None or pre_expiry_days <= 0:
        return datetime.timedelta(0)
    return datetime.timedelta(days=int(pre_expiry_days))
