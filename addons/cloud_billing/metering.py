# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What the cloud measured, cut into hourly usage events: plain Python.

The collector reads a project's usage over a window of time from Nova
(``os-simple-tenant-usage``), Cinder (volumes) and Neutron (floating IPs)
and hands ``billing_usage`` one usage event per resource, metric and hour.

Conventions:

* Moments are naive datetimes in UTC. A window is half-open,
  ``[start, end)``, and aligned on whole hours: it is cut into *hour slots*
  ``[h, h + 1 hour)`` (subscription_core's ``usage_window.hourly_periods``),
  which never cross midnight, so usage that spans a day boundary is split at
  the boundary (and at each hour).
* Nova is asked per day piece of the window (billing_usage's
  ``aggregation.split_days``: one call for an hourly window); a server's
  hours in a slot are the overlap of its life
  ``[started_at, ended_at)`` (Nova's ``launched_at`` and ``terminated_at``;
  still running: to the end of the piece) with the slot: Nova's own formula,
  so the slots of a piece add up to the ``hours`` Nova answers for it.
* A volume or floating IP listed at collection time counts from its
  ``created_at`` on; what was deleted before the collection is not listed
  any more (see doc/usage.rst, *Usage collection*).
* Every event's transaction id is a hash of the cloud, the project, the
  resource, the metric and the slot (``transaction_id``): collecting a window
  again, or any window overlapping it, gives the same ids for the same
  slots, which billing_usage stores once (a duplicate is never counted).
* Quantities are Decimal, rounded once per event as billing_usage rounds
  its rows (``aggregation.QUANTITY_PLACES`` places, half even).

The hours, days and rounding are billing_usage's and subscription_core's own
plain helpers (one home each); this file adds only what is the cloud's.
"""
import datetime as _dt
import hashlib
from fractions import Fraction

from billing_usage.aggregation import _round
from billing_usage.boundary import period_start
from subscription_core.input_error import CodedInputError
from subscription_core.usage_window import hourly_periods

__all__ = ['HOUR', 'SERVER_HOURS', 'VOLUME_GIB_HOURS', 'FLOATING_IP_HOURS',
    'METRICS', 'WindowError', 'check_window', 'overlap_hours',
    'transaction_id', 'server_events', 'volume_events',
    'floating_ip_events']

HOUR = _dt.timedelta(hours=1)

# The codes of the billable metrics the collector sends events for
SERVER_HOURS = 'openstack.server_hours'
VOLUME_GIB_HOURS = 'openstack.volume_gib_hours'
FLOATING_IP_HOURS = 'openstack.floating_ip_hours'

# The default billable metrics (doc/configuration.rst): every one a Sum of
# what each hourly event measured.
METRICS = [
    {'code': SERVER_HOURS, 'name': "Server hours", 'unit': "hours",
        'aggregation': 'sum', 'field_name': 'hours', 'group_by': 'flavor'},
    {'code': VOLUME_GIB_HOURS, 'name': "Volume GiB-hours",
        'unit': "GiB-hours", 'aggregation': 'sum', 'field_name': 'gib_hours',
        'group_by': None},
    {'code': FLOATING_IP_HOURS, 'name': "Floating IP hours", 'unit': "hours",
        'aggregation': 'sum', 'field_name': 'hours', 'group_by': None},
    ]


class WindowError(CodedInputError):
    "A window that cannot be collected; code names the rule"


def check_window(start, end, now=None):
    """Raise WindowError unless [start, end) is a window to collect: naive,
    on whole hours, start before end, and ended at now (Nova counts a
    running server up to the end asked, even a future one)"""
    for moment in (end, start):
        if not isinstance(moment, _dt.datetime) or moment.tzinfo is not None:
            raise WindowError('window_naive', moment=moment)
        if moment != period_start(moment, 'hour'):
            raise WindowError('window_hour', moment=moment)
    if not start < end:
        raise WindowError('window_empty', start=start, end=end)
    if now is not None and end > now:
        raise WindowError('window_future', end=end, now=now)


def overlap_hours(begin, finish, start, end):
    """The hours of [begin, finish) inside [start, end), as a Fraction

    begin None: never started (0); finish None: still there (to end).
    """
    if begin is None:
        return Fraction(0)
    lower = max(begin, start)
    upper = end if finish is None else min(finish, end)
    if upper <= lower:
        return Fraction(0)
    delta = upper - lower
    return Fraction(
        delta.days * 86400 + delta.seconds, 3600) + Fraction(
        delta.microseconds, 3600 * 10 ** 6)


def transaction_id(cloud, project_id, resource_id, metric, slot_start,
        slot_end):
    """The transaction id of the usage of a resource for a metric in a slot:
    the same for the same inputs, whoever collects it and whenever"""
    key = '\x1f'.join([cloud, project_id, resource_id, metric,
            slot_start.isoformat(), slot_end.isoformat()])
    return 'openstack-' + hashlib.sha256(key.encode('utf-8')).hexdigest()


def _events(cloud, project_id, metric, resource_id, begin, finish, start,
        end, properties):
    "The events of a resource's life [begin, finish) in the slots of window"
    events = []
    for slot_start, slot_end in hourly_periods(start, end, 'hourly'):
        hours = overlap_hours(begin, finish, slot_start, slot_end)
        if not hours:
            continue
        events.append({
                'transaction_id': transaction_id(cloud, project_id,
                    resource_id, metric, slot_start, slot_end),
                'metric': metric,
                'timestamp': slot_start,
                # each quantity from the exact hours, rounded once
                'properties': properties(hours),
                })
    return events


def server_events(cloud, project_id, usages, start, end):
    """Events of SERVER_HOURS for Nova's server usages of the window
    [start, end) (inside one day; the window Nova was asked for)

    usages: dicts with instance_id, flavor, vcpus, memory_mb, local_gb,
    started_at, ended_at (naive UTC or None), state. Properties: hours,
    flavor, vcpus, memory_mb, local_gb, vcpu_hours, server, state.
    """
    events = []
    for usage in usages:
        def properties(hours, usage=usage):
            vcpus = int(usage.get('vcpus') or 0)
            return {
                'hours': _round(hours),
                'flavor': usage.get('flavor') or '',
                'vcpus': vcpus,
                'memory_mb': int(usage.get('memory_mb') or 0),
                'local_gb': int(usage.get('local_gb') or 0),
                'vcpu_hours': _round(hours * vcpus),
                'server': usage['instance_id'],
                'state': usage.get('state') or '',
                }
        events += _events(cloud, project_id, SERVER_HOURS,
            usage['instance_id'], usage.get('started_at'),
            usage.get('ended_at'), start, end, properties)
    return events


def volume_events(cloud, project_id, volumes, start, end):
    """Events of VOLUME_GIB_HOURS for the volumes listed (dicts with id,
    size in GiB, created_at, volume_type): properties gib_hours (size ×
    hours), gib, hours, volume, volume_type"""
    events = []
    for volume in volumes:
        def properties(hours, volume=volume):
            gib = int(volume.get('size') or 0)
            return {
                'gib_hours': _round(hours * gib),
                'gib': gib,
                'hours': _round(hours),
                'volume': volume['id'],
                'volume_type': volume.get('volume_type') or '',
                }
        events += _events(cloud, project_id, VOLUME_GIB_HOURS, volume['id'],
            volume.get('created_at'), None, start, end, properties)
    return events


def floating_ip_events(cloud, project_id, addresses, start, end):
    """Events of FLOATING_IP_HOURS for the floating IPs listed (dicts with
    id, floating_ip_address, created_at): properties hours, address,
    floating_ip"""
    events = []
    for address in addresses:
        def properties(hours, address=address):
            return {
                'hours': _round(hours),
                'address': address.get('floating_ip_address') or '',
                'floating_ip': address['id'],
                }
        events += _events(cloud, project_id, FLOATING_IP_HOURS,
            address['id'], address.get('created_at'), None, start, end,
            properties)
    return events
