# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The grace workflow as a declared table, and its dates, without the ORM.

``ACTION_TYPES`` is the engine's table of billing action types
(``subscription_core/action_type.py``) with the cloud's rows: what each type
needs, the status it sets, the email it sends and the steps it leads to::

    grace ─(shelve grace)→ shelve ─(retention − warning)→ pending_deletion
          ─(warning)→ delete ─(reclaim interval)→ close

On a cloud with a reclaim interval the deleted servers stay restorable
(SOFT_DELETED) until ``restore_deadline``: the close waits for the day after
it, and a payment until then plans ``undelete``; on a cloud without, the
close runs at once and the deletion is final.

``next_steps`` says what follows a done step; the billing action model
(``action.py``) does what it says. The configuration (``configuration.py``)
gives per company how long each step lasts; the date functions turn them
into the days the billing actions are planned for. A missing, zero or
negative duration is never "at once": the functions raise
``GraceSettingError`` and the caller plans nothing.
"""
import collections
import dataclasses
import datetime

from subscription_core.action_type import (
    ACTION_TYPES as CORE_ACTION_TYPES, PAID, UNPAID, ActionType, Next)

__all__ = ['GraceSettingError', 'check_settings', 'shelve_date',
    'deletion_date', 'warning_date', 'noticed_deletion_date', 'lead_days',
    'restore_deadline', 'restorable', 'DEFAULTS',
    'ACTION_TYPES', 'CLOUD_TYPES', 'SETTINGS', 'next_steps', 'Follow',
    'CAP_WINDOW', 'cap_window_start', 'over_cap']

# Defaults of the configuration
DEFAULTS = {
    'pre_expiry_days': 7,
    'shelve_grace_hours': 48,
    'retention_days': 14,
    'deletion_warning_days': 7,
    'destructive_limit': 10,
    # minutes a billing action may stay running before the reaper takes it
    'stranded_timeout': 60,
    }
# The bounds of the stranded timeout, in minutes: at least a few minutes
# (and more than the remote wait), at most a week.
STRANDED_TIMEOUT_BOUNDS = (5, 7 * 24 * 60)


# The destructive actions of a company are capped over any window this long.
CAP_WINDOW = datetime.timedelta(hours=24)


def cap_window_start(now):
    "The first instant of the window of the cap that ends at now"
    return now - CAP_WINDOW


def over_cap(counted, new, limit):
    """Whether new destructive actions would take the company past limit
    when counted already ran in the window

    A missing, zero or negative limit is never "no limit": the default
    applies.
    """
    if limit is None or isinstance(limit, bool) or limit <= 0:
        limit = DEFAULTS['destructive_limit']
    return counted + new > limit


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


def noticed_deletion_date(warned_on, deletion_warning_days, deletion=None):
    """The first day the servers may be deleted when warned on warned_on

    A deletion needs a delivered pre-deletion warning at least
    deletion_warning_days before: never before warned_on + the warning days,
    nor before the recorded deletion day. None when the customer was not
    warned (warned_on None): the deletion waits.
    """
    days = _positive('deletion_warning_days', deletion_warning_days)
    if warned_on is None:
        return None
    date = warned_on + datetime.timedelta(days=int(days))
    if deletion is not None and deletion > date:
        date = deletion
    return date


def lead_days(pre_expiry_days):
    "The lead of a prepaid renewal invoice as a timedelta (0 when unset)"
    if pre_expiry_days is None or pre_expiry_days <= 0:
        return datetime.timedelta(0)
    return datetime.timedelta(days=int(pre_expiry_days))


DAY_SECONDS = 24 * 60 * 60


def restore_deadline(deleted_on, reclaim_seconds):
    """The last day a payment restores the servers deleted on deleted_on

    reclaim_seconds is the cloud's reclaim interval (Nova's
    ``reclaim_instance_interval``); None when it is not positive (the
    deletion is final). Whole days, rounded down: Nova reclaims a server
    between one and two intervals after its deletion, and the deletion's
    time of day is not known here, so an interval under a day leaves only
    the deletion day.
    """
    if (reclaim_seconds is None or isinstance(reclaim_seconds, bool)
            or reclaim_seconds <= 0):
        return None
    return deleted_on + datetime.timedelta(
        days=int(reclaim_seconds) // DAY_SECONDS)


def restorable(deadline, date):
    "Whether servers restorable until deadline can be restored on date"
    return deadline is not None and date <= deadline


# The settings of the configuration next_steps reads (and the cloud's
# reclaim_seconds, given by the caller).
SETTINGS = ('shelve_grace_hours', 'retention_days', 'deletion_warning_days')


# Rules of the dates a done step computes: (day done, settings, the dates
# known so far: 'today' and the subscription's 'deletion_date').
def _today(today, settings, dates):
    return today


def _planned_shelve(today, settings, dates):
    return shelve_date(today, settings['shelve_grace_hours'])


def _planned_deletion(today, settings, dates):
    return deletion_date(today, settings['retention_days'])


def _planned_warning(today, settings, dates):
    return warning_date(
        dates['deletion_date'], settings['deletion_warning_days'], today)


def _noticed_deletion(today, settings, dates):
    # A warning sent late (the job did not run, the mail server was down)
    # moves the deletion: the customer always gets the warning days.
    return noticed_deletion_date(
        today, settings['deletion_warning_days'], dates['deletion_date'])


def _recorded_deletion(today, settings, dates):
    return dates['deletion_date'] or today


def _restore_deadline(today, settings, dates):
    return restore_deadline(today, settings.get('reclaim_seconds'))


def _close_date(today, settings, dates):
    "The day after the restore deadline, or today when deletion is final"
    deadline = dates['restore_deadline']
    if deadline is None:
        return today
    return deadline + datetime.timedelta(days=1)


# The cloud's rows of the table (its grace leads on to the shelve).
CLOUD_TYPES = {t.name: t for t in [
        dataclasses.replace(CORE_ACTION_TYPES['grace'],
            dates=(('shelve_date', _planned_shelve),),
            email='reminder', email_values=('shelve_date',),
            reason='cloud_billing.msg_action_reason_grace',
            leads_to=(Next('shelve', 'shelve_date', 'grace'),)),
        ActionType('shelve', "Shelve", "the project's servers are shelved.",
            target_status='shelved', debt=UNPAID, remote=True,
            destructive=True,
            dates=(
                ('shelve_date', _today),
                ('deletion_date', _planned_deletion),
                ('warning_date', _planned_warning)),
            email='shelved', email_values=('shelve_date', 'deletion_date'),
            records=(
                ('cloud_shelved_date', 'shelve_date'),
                ('cloud_deletion_date', 'deletion_date')),
            reason='cloud_billing.msg_action_reason_shelved',
            leads_to=(
                Next('pending_deletion', 'warning_date', 'shelved'),
                Next('delete', 'deletion_date', 'pending_deletion'))),
        ActionType('unshelve', "Unshelve",
            "the servers billing shelved run again.",
            target_status='active', debt=PAID, remote=True,
            dates=(('restore_date', _today),),
            email='restored', email_values=('restore_date',),
            records=(
                ('cloud_shelved_date', None),
                ('cloud_deletion_date', None))),
        ActionType('pending_deletion', "Pending Deletion",
            "the customer is warned of the deletion.",
            target_status='pending_deletion', debt=UNPAID,
            dates=(('deletion_date', _noticed_deletion),),
            email='pre_deletion', email_values=('deletion_date',),
            records=(('cloud_deletion_date', 'deletion_date'),)),
        ActionType('delete', "Delete",
            "the project's recorded servers are deleted.",
            target_status='deleted', debt=UNPAID, remote=True,
            destructive=True,
            dates=(
                ('deletion_date', _recorded_deletion),
                ('restore_deadline', _restore_deadline),
                ('close_date', _close_date)),
            email='deleted', email_values=('deletion_date',),
            records=(('cloud_restore_deadline', 'restore_deadline'),),
            reason='cloud_billing.msg_action_reason_deleted',
            # Run now when it is due today (no reclaim interval).
            leads_to=(Next('close', 'close_date', run_now=True),)),
        ActionType('undelete', "Undelete",
            "the servers billing deleted, still soft-deleted, are "
            "restored.",
            target_status='active', debt=PAID, remote=True,
            dates=(('restore_date', _today),),
            email='restored', email_values=('restore_date',),
            records=(
                ('cloud_shelved_date', None),
                ('cloud_deletion_date', None),
                ('cloud_restore_deadline', None))),
        ActionType('quota_change', "Quota Change",
            "the new limit of a line is applied in OpenStack, then billed.",
            remote=True),
        ActionType('quota_set', "Set Quota",
            "the project's quota is set to what the lines give.",
            remote=True),
        ]}
# The whole table: the engine's rows and the cloud's.
ACTION_TYPES = CORE_ACTION_TYPES | CLOUD_TYPES

Follow = collections.namedtuple('Follow',
    ['email', 'email_values', 'records', 'reason', 'steps', 'dates'])


def next_steps(type_, today, settings, deletion_date=None,
        table=ACTION_TYPES):
    """What follows a step of type_ done on today

    settings maps the names of SETTINGS to the configuration's values
    (and reclaim_seconds to the cloud's reclaim interval, 0 when unset),
    deletion_date is the subscription's recorded one. Return a Follow:
    the email kind to send (or None) and its values, the subscription
    fields to write, the message id of the next steps' reason and the steps
    as (type, date, expected status, run now). Raise GraceSettingError when
    a setting the step needs is not valid: then nothing follows.
    """
    action = table[type_]
    dates = {'today': today, 'deletion_date': deletion_date}
    for name, rule in action.dates:
        dates[name] = rule(today, settings, dates)
    return Follow(
        email=action.email,
        email_values={k: dates[k] for k in action.email_values},
        records={f: dates[d] if d else None for f, d in action.records},
        reason=action.reason,
        # A step is run now only when it is due (a deferred close waits).
        steps=[(n.type, dates[n.date], n.expected_status,
                n.run_now and dates[n.date] <= today)
            for n in action.leads_to],
        dates=dates)
