# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The arithmetic of usage collection (metering.py): windows, hour slots,
the split at midnight, overlaps and transaction ids. No database. (The
slots and day pieces themselves are subscription_core's hourly_periods and
billing_usage's split_days, tested there.)"""
import datetime
import unittest
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_usage.aggregation import split_days
from cloud_billing import metering
from cloud_billing.metering import WindowError
from subscription_core.usage_window import hourly_periods

DT = datetime.datetime
D = datetime.date


def hours_by_day(events):
    days = {}
    for event in events:
        day = event['timestamp'].date()
        days[day] = days.get(day, 0) + event['properties']['hours']
    return days


class WindowTestCase(unittest.TestCase):

    def test_check_window(self):
        "A window is naive, on whole hours, not empty, ended"
        now = DT(2026, 3, 2, 10, 30)
        metering.check_window(DT(2026, 3, 1), DT(2026, 3, 2, 10), now=now)
        for start, end, code in [
                (DT(2026, 3, 1, 0, 30), DT(2026, 3, 1, 2), 'window_hour'),
                (DT(2026, 3, 1), DT(2026, 3, 1, 2, 0, 1), 'window_hour'),
                (DT(2026, 3, 1, 2), DT(2026, 3, 1, 2), 'window_empty'),
                (DT(2026, 3, 1, 3), DT(2026, 3, 1, 2), 'window_empty'),
                (DT(2026, 3, 2, 10), DT(2026, 3, 2, 11), 'window_future'),
                (DT(2026, 3, 1, tzinfo=datetime.timezone.utc),
                    DT(2026, 3, 1, 2), 'window_naive'),
                (D(2026, 3, 1), DT(2026, 3, 1, 2), 'window_naive'),
                ]:
            with self.subTest(start=start, end=end):
                with self.assertRaises(WindowError) as cm:
                    metering.check_window(start, end, now=now)
                self.assertEqual(cm.exception.code, code)

    def test_overlap_hours(self):
        "Half-open overlaps; never started is 0; still there runs to end"
        start, end = DT(2026, 3, 1, 10), DT(2026, 3, 1, 11)
        for begin, finish, hours in [
                (None, None, 0),
                (DT(2026, 3, 1, 9), None, 1),
                (DT(2026, 3, 1, 10, 30), None, Fraction(1, 2)),
                (DT(2026, 3, 1, 9), DT(2026, 3, 1, 10), 0),
                (DT(2026, 3, 1, 11), None, 0),
                (DT(2026, 3, 1, 10, 15), DT(2026, 3, 1, 10, 35),
                    Fraction(1, 3)),
                (DT(2026, 3, 1, 10, 0, 0, 360000), DT(2026, 3, 1, 12),
                    Fraction(3599640, 3600000)),
                ]:
            with self.subTest(begin=begin, finish=finish):
                self.assertEqual(
                    metering.overlap_hours(begin, finish, start, end), hours)


class TransactionIdTestCase(unittest.TestCase):

    def test_deterministic_and_distinct(self):
        "The same usage gives the same id; any part changed, another"
        args = ('admin/RegionOne', 'p1', 'server-1', metering.SERVER_HOURS,
            DT(2026, 3, 1, 10), DT(2026, 3, 1, 11))
        tx = metering.transaction_id(*args)
        self.assertEqual(tx, metering.transaction_id(*args))
        self.assertTrue(tx.startswith('openstack-'))
        self.assertLessEqual(len(tx), 255)
        ids = {tx}
        for index, other in enumerate([
                'admin/RegionTwo', 'p2', 'server-2',
                metering.VOLUME_GIB_HOURS, DT(2026, 3, 1, 11),
                DT(2026, 3, 1, 12)]):
            changed = list(args)
            changed[index] = other
            ids.add(metering.transaction_id(*changed))
        self.assertEqual(len(ids), 7)
        # No separator trick: parts are not concatenated ambiguously
        self.assertNotEqual(
            metering.transaction_id('a', 'bc', 's', 'm', *args[4:]),
            metering.transaction_id('ab', 'c', 's', 'm', *args[4:]))


def usage(server_id, started_at, ended_at=None, flavor='m1.small', vcpus=2):
    return {'instance_id': server_id, 'flavor': flavor, 'vcpus': vcpus,
        'memory_mb': 2048, 'local_gb': 20, 'started_at': started_at,
        'ended_at': ended_at, 'state': 'active' if not ended_at
        else 'terminated'}


class EventsTestCase(unittest.TestCase):

    def test_server_across_midnight(self):
        "22:30 to 02:15: 1.5 hours on the first day, 2.25 on the second"
        events = metering.server_events('c', 'p', [
                usage('s1', DT(2026, 3, 1, 22, 30), DT(2026, 3, 2, 2, 15))],
            DT(2026, 3, 1, 20), DT(2026, 3, 2, 4))
        self.assertEqual(
            [(e['timestamp'], e['properties']['hours']) for e in events], [
                (DT(2026, 3, 1, 22), Decimal('0.5')),
                (DT(2026, 3, 1, 23), Decimal('1')),
                (DT(2026, 3, 2, 0), Decimal('1')),
                (DT(2026, 3, 2, 1), Decimal('1')),
                (DT(2026, 3, 2, 2), Decimal('0.25')),
                ])
        self.assertEqual(hours_by_day(events), {
                D(2026, 3, 1): Decimal('1.5'), D(2026, 3, 2): Decimal('2.25')})
        first = events[0]
        self.assertEqual(first['metric'], metering.SERVER_HOURS)
        self.assertEqual(first['properties'], {
                'hours': Decimal('0.5'), 'flavor': 'm1.small', 'vcpus': 2,
                'memory_mb': 2048, 'local_gb': 20,
                'vcpu_hours': Decimal('1'), 'server': 's1',
                'state': 'terminated'})
        self.assertEqual(first['transaction_id'], metering.transaction_id(
                'c', 'p', 's1', metering.SERVER_HOURS, DT(2026, 3, 1, 22),
                DT(2026, 3, 1, 23)))

    def test_running_server_until_window_end(self):
        "A server still running counts to the end of the window"
        events = metering.server_events('c', 'p', [
                usage('s1', DT(2026, 3, 1, 9, 40))],
            DT(2026, 3, 1, 9), DT(2026, 3, 1, 11))
        self.assertEqual(
            [e['properties']['hours'] for e in events],
            [Decimal('0.333333'), Decimal('1')])

    def test_server_never_launched_or_outside(self):
        "Nova's rule: no launch, no hours; nothing outside the window"
        self.assertEqual(metering.server_events('c', 'p', [
                    usage('s1', None),
                    usage('s2', DT(2026, 3, 1, 8), DT(2026, 3, 1, 9)),
                    usage('s3', DT(2026, 3, 1, 11)),
                    ], DT(2026, 3, 1, 9), DT(2026, 3, 1, 11)), [])

    def test_recollect_overlapping_windows_same_ids(self):
        "An hourly window and a day's window give the same ids per slot"
        server = usage('s1', DT(2026, 3, 1, 5, 10))
        day = metering.server_events(
            'c', 'p', [server], DT(2026, 3, 1), DT(2026, 3, 2))
        hour = metering.server_events(
            'c', 'p', [server], DT(2026, 3, 1, 13), DT(2026, 3, 1, 14))
        by_id = {e['transaction_id']: e for e in day}
        self.assertEqual(len(by_id), 19)
        self.assertEqual(hour, [by_id[hour[0]['transaction_id']]])

    def test_volume_gib_hours(self):
        "A 50 GiB volume created at 10:20: 33.333333 then 50 GiB-hours"
        volume = {'id': 'v1', 'size': 50, 'created_at': DT(2026, 3, 1, 10, 20),
            'volume_type': 'ssd'}
        events = metering.volume_events(
            'c', 'p', [volume], DT(2026, 3, 1, 10), DT(2026, 3, 1, 12))
        self.assertEqual([(e['metric'], e['properties']) for e in events], [
                (metering.VOLUME_GIB_HOURS, {
                        'gib_hours': Decimal('33.333333'), 'gib': 50,
                        'hours': Decimal('0.666667'), 'volume': 'v1',
                        'volume_type': 'ssd'}),
                (metering.VOLUME_GIB_HOURS, {
                        'gib_hours': Decimal('50'), 'gib': 50,
                        'hours': Decimal('1'), 'volume': 'v1',
                        'volume_type': 'ssd'}),
                ])

    def test_floating_ip_hours(self):
        "A floating IP counts its hours from its creation"
        address = {'id': 'f1', 'floating_ip_address': '203.0.113.7',
            'created_at': DT(2026, 3, 1, 23, 45)}
        events = metering.floating_ip_events(
            'c', 'p', [address], DT(2026, 3, 1, 23), DT(2026, 3, 2, 1))
        self.assertEqual(
            [(e['timestamp'], e['properties']) for e in events], [
                (DT(2026, 3, 1, 23), {'hours': Decimal('0.25'),
                        'address': '203.0.113.7', 'floating_ip': 'f1'}),
                (DT(2026, 3, 2, 0), {'hours': Decimal('1'),
                        'address': '203.0.113.7', 'floating_ip': 'f1'}),
                ])

    def test_default_metrics(self):
        "Every default metric sums a property the events carry"
        self.assertEqual(
            [(m['code'], m['aggregation'], m['field_name'], m['group_by'])
                for m in metering.METRICS], [
                (metering.SERVER_HOURS, 'sum', 'hours', 'flavor'),
                (metering.VOLUME_GIB_HOURS, 'sum', 'gib_hours', None),
                (metering.FLOATING_IP_HOURS, 'sum', 'hours', None),
                ])


moments = st.datetimes(
    min_value=DT(2026, 1, 1), max_value=DT(2026, 1, 5)).map(
    lambda d: d.replace(microsecond=0))


class PropertyTestCase(unittest.TestCase):

    @settings(max_examples=200, deadline=None)
    @given(moments, moments, st.integers(1, 72), st.integers(0, 72))
    def test_slots_add_up_to_nova_hours(self, begin, finish, length, offset):
        """The hourly events of a window add up to Nova's hours for it
        (to the rounding of each event), and each day gets the hours of
        its own piece"""
        begin, finish = sorted([begin, finish])
        start = DT(2026, 1, 1) + datetime.timedelta(hours=offset)
        end = start + datetime.timedelta(hours=length)
        events = metering.server_events(
            'c', 'p', [usage('s', begin, finish)], start, end)
        for day, piece_start, piece_end in split_days(start, end):
            nova = metering.overlap_hours(begin, finish, piece_start,
                piece_end)
            got = hours_by_day(events).get(day, 0)
            self.assertLessEqual(
                abs(Fraction(got) - nova),
                Fraction(len(hourly_periods(piece_start, piece_end, 'hourly')),
                    2 * 10 ** 6))
        self.assertEqual(len({e['transaction_id'] for e in events}),
            len(events))
        self.assertTrue(all(
                e['properties']['hours'] > 0 for e in events))
