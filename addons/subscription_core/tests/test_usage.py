# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the usage, tier, description and quote arithmetic of
subscription_core.proration.

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import datetime as dt
import unittest
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from subscription_core import proration

Tier = proration.Tier
D = Decimal
F = Fraction
H = dt.datetime
CENT = D('0.01')

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)

TIERS = [
    Tier(D('1000'), D('0.05')),
    Tier(D('5000'), D('0.04')),
    Tier(None, D('0.02')),
    ]


def d(text):
    return dt.date.fromisoformat(text)


class TierErrorTestCase(unittest.TestCase):

    def test_validate_tiers_codes(self):
        for tiers, code in [
                ([], 'empty'),
                ([Tier(D('10'), D('1'))], 'last_not_open'),
                ([Tier(None, D('1')), Tier(D('10'), D('1'))],
                    'open_not_last'),
                ([Tier(D('10'), D('1')), Tier(D('5'), D('1')),
                        Tier(None, D('1'))], 'not_ascending'),
                ([Tier(D('10'), D('-1')), Tier(None, D('1'))],
                    'negative_price'),
                ]:
            with self.subTest(code=code):
                with self.assertRaises(proration.TierError) as context:
                    proration.validate_tiers(tiers)
                self.assertEqual(context.exception.code, code)
                self.assertIsInstance(context.exception, ValueError)

    def test_tiers_from_starts(self):
        for starts, expected in [
                ([(0, D('0.05'))], (Tier(None, D('0.05')),)),
                ([(1000, D('0.04')), (0, D('0.05')), (5000, D('0.02'))],
                    tuple(TIERS)),
                ([(0.0, D('1')), (2.5, D('0.5'))],
                    (Tier(F(5, 2), D('1')), Tier(None, D('0.5')))),
                ]:
            with self.subTest(starts=starts):
                self.assertEqual(
                    proration.tiers_from_starts(starts), expected)

    def test_tiers_from_starts_invalid(self):
        for starts, code in [
                ([], 'empty'),
                ([(10, D('1'))], 'first_not_zero'),
                ([(-1, D('1')), (0, D('1'))], 'first_not_zero'),
                ([(0, D('1')), (10, D('1')), (10, D('2'))], 'not_ascending'),
                ([(0, D('1')), (10, D('-0.01'))], 'negative_price'),
                ]:
            with self.subTest(starts=starts):
                with self.assertRaises(proration.TierError) as context:
                    proration.tiers_from_starts(starts)
                self.assertEqual(context.exception.code, code)


class TierSlicesTestCase(unittest.TestCase):

    def test_tier_slices(self):
        for quantity, mode, used, expected in [
                (1250, 'graduated', 0,
                    [(1000, D('0.05')), (250, D('0.04'))]),
                (800, 'graduated', 0, [(800, D('0.05'))]),
                (800, 'graduated', 900,
                    [(100, D('0.05')), (700, D('0.04'))]),
                (6000, 'graduated', 0, [
                        (1000, D('0.05')), (4000, D('0.04')),
                        (1000, D('0.02'))]),
                (0, 'graduated', 0, [(0, D('0.05'))]),
                (0, 'graduated', 1000, [(0, D('0.04'))]),
                (1250, 'volume', 0, [(1250, D('0.04'))]),
                (1000, 'volume', 0, [(1000, D('0.05'))]),
                (100, 'volume', 4950, [(100, D('0.02'))]),
                ]:
            with self.subTest(quantity=quantity, mode=mode, used=used):
                self.assertEqual(
                    proration.tier_slices(quantity, TIERS, mode, used),
                    expected)

    def test_price_usage(self):
        for args, kwargs, amount, slices in [
                ((D('1250'), D('0.05'), CENT), {},
                    D('62.50'), [(1250, D('0.05'))]),
                ((1250.5, D('0.05'), CENT), {},
                    D('62.52'), [(F(2501, 2), D('0.05'))]),
                ((1250, D('9'), CENT), {'tiers': TIERS},
                    D('60.00'), [(1000, D('0.05')), (250, D('0.04'))]),
                ((1250, D('9'), CENT), {'tiers': TIERS, 'mode': 'volume'},
                    D('50.00'), [(1250, D('0.04'))]),
                ((250, D('9'), CENT),
                    {'tiers': TIERS, 'already_used': 1000},
                    D('10.00'), [(250, D('0.04'))]),
                ((D('0.333'), D('0.01'), CENT), {},
                    D('0.00'), [(F(333, 1000), D('0.01'))]),
                ]:
            with self.subTest(args=args, kwargs=kwargs):
                self.assertEqual(
                    proration.price_usage(*args, **kwargs), (amount, slices))

    def test_price_usage_invalid(self):
        with self.assertRaises(ValueError):
            proration.price_usage(-1, D('1'), CENT)
        with self.assertRaises(TypeError):
            proration.price_usage(1, 0.05, CENT)


class DescribeTestCase(unittest.TestCase):

    def test_describe_usage(self):
        for quantity, label, slices, expected in [
                (D('1250'), 'GB', [(1250, D('0.0500'))], "1250 GB × 0.05"),
                (1250.5, None, [(F(2501, 2), D('0.05'))], "1250.5 × 0.05"),
                (1250, 'GB', [(1000, D('0.05')), (250, D('0.04'))],
                    "1250 GB: 1000 × 0.05 + 250 × 0.04"),
                (D('10'), 'GB', [(10, D('10'))], "10 GB × 10"),
                ]:
            with self.subTest(expected=expected):
                self.assertEqual(
                    proration.describe_usage(quantity, label, slices),
                    expected)

    def test_describe_window(self):
        for start, end, expected in [
                (d('2026-01-01'), d('2026-02-01'),
                    "(2026-01-01 – 2026-01-31)"),
                (d('2026-01-05'), d('2026-01-06'), "(2026-01-05)"),
                (H(2026, 1, 5, 13), H(2026, 1, 5, 14),
                    "(2026-01-05 13:00–14:00 UTC)"),
                (H(2026, 1, 5, 23), H(2026, 1, 6),
                    "(2026-01-05 23:00–24:00 UTC)"),
                ]:
            with self.subTest(expected=expected):
                self.assertEqual(
                    proration.describe_window(start, end), expected)

    def test_describe_months(self):
        for quantity, start, end, expected in [
                (8, '2025-12-01', '2026-03-01',
                    "8 vCPU × 3 months (2025-12-01 – 2026-02-28)"),
                (D('4'), '2026-01-16', '2026-03-01',
                    "4 vCPU × (16/31 + 1) months (2026-01-16 – 2026-02-28)"),
                (D('-2'), '2026-02-10', '2026-03-01',
                    "-2 vCPU × 19/28 month (2026-02-10 – 2026-02-28)"),
                (1, '2026-01-01', '2026-02-01',
                    "1 vCPU × 1 month (2026-01-01 – 2026-01-31)"),
                (1, '2026-01-20', '2026-04-10', "1 vCPU × "
                    "(12/31 + 2 + 9/30) months (2026-01-20 – 2026-04-09)"),
                ]:
            with self.subTest(expected=expected):
                self.assertEqual(
                    proration.describe_months(
                        quantity, 'vCPU', d(start), d(end)),
                    expected)


class UsageWindowsTestCase(unittest.TestCase):

    def test_usage_windows(self):
        W = proration.Window
        consumptions = [
            (1, d('2026-01-03'), 100.0),
            (2, d('2026-01-20'), D('150.5')),
            (3, d('2026-02-02'), 10),
            (4, H(2026, 1, 20, 13, 30), 1),
            ]
        for period, until, start, end, expected in [
                ('month', d('2026-01-31'), '2026-01-01', None, []),
                ('month', d('2026-02-01'), '2026-01-01', None, [
                        W(d('2026-01-01'), d('2026-02-01'), d('2026-01-01'),
                            d('2026-02-01'), F(503, 2), (1, 2, 4))]),
                ('month', d('2026-03-05'), '2026-01-02', '2026-02-10', [
                        W(d('2026-01-01'), d('2026-02-01'), d('2026-01-02'),
                            d('2026-02-01'), F(503, 2), (1, 2, 4)),
                        W(d('2026-02-01'), d('2026-03-01'), d('2026-02-01'),
                            d('2026-02-10'), F(10), (3,))]),
                ('quarter', d('2026-04-01'), '2026-01-01', None, [
                        W(d('2026-01-01'), d('2026-04-01'), d('2026-01-01'),
                            d('2026-04-01'), F(523, 2), (1, 2, 3, 4))]),
                ('total', d('2026-12-31'), '2026-01-01', None, []),
                ('total', d('2026-03-01'), '2026-01-01', '2026-03-01', [
                        W(d('2026-01-01'), d('2026-03-01'), d('2026-01-01'),
                            d('2026-03-01'), F(523, 2), (1, 2, 3, 4))]),
                ('day', d('2026-01-21'), '2026-01-01', None, [
                        W(d('2026-01-03'), d('2026-01-04'), d('2026-01-03'),
                            d('2026-01-04'), F(100), (1,)),
                        W(d('2026-01-20'), d('2026-01-21'), d('2026-01-20'),
                            d('2026-01-21'), F(303, 2), (2, 4))]),
                ('hour', H(2026, 1, 20, 14), '2026-01-01', None, [
                        W(H(2026, 1, 3), H(2026, 1, 3, 1), d('2026-01-03'),
                            d('2026-01-04'), F(100), (1,)),
                        W(H(2026, 1, 20), H(2026, 1, 20, 1), d('2026-01-20'),
                            d('2026-01-21'), F(301, 2), (2,)),
                        W(H(2026, 1, 20, 13), H(2026, 1, 20, 14),
                            d('2026-01-20'), d('2026-01-21'), F(1), (4,))]),
                ('hour', H(2026, 1, 20, 13, 59), '2026-01-01', None, [
                        W(H(2026, 1, 3), H(2026, 1, 3, 1), d('2026-01-03'),
                            d('2026-01-04'), F(100), (1,)),
                        W(H(2026, 1, 20), H(2026, 1, 20, 1), d('2026-01-20'),
                            d('2026-01-21'), F(301, 2), (2,))]),
                ]:
            with self.subTest(period=period, until=until, start=start,
                    end=end):
                self.assertEqual(
                    proration.usage_windows(
                        consumptions, period, until, d(start),
                        d(end) if end else None),
                    expected)

    def test_usage_windows_aware_moment(self):
        plus2 = dt.timezone(dt.timedelta(hours=2))
        windows = proration.usage_windows(
            [('a', H(2026, 1, 1, 1, 30, tzinfo=plus2), 2)], 'hour',
            H(2026, 1, 1), d('2025-12-01'))
        self.assertEqual(
            [(w.period_start, w.start) for w in windows],
            [(H(2025, 12, 31, 23), d('2025-12-31'))])

    def test_usage_windows_invalid(self):
        for consumptions, period in [
                ([(1, d('2025-12-31'), 1)], 'month'),
                ([(1, d('2026-03-01'), 1)], 'month'),
                ([(1, d('2026-01-05'), 1)], 'week'),
                ]:
            with self.subTest(consumptions=consumptions, period=period):
                with self.assertRaises(ValueError):
                    proration.usage_windows(
                        consumptions, period, d('2026-06-01'),
                        d('2026-01-01'), d('2026-03-01'))

    def test_tier_phase(self):
        for start, period, expected in [
                (d('2026-01-20'), 'day', '2026-01-01'),
                (H(2026, 1, 20, 13), 'hour', '2026-01-01'),
                (d('2026-01-01'), 'month', '2026-01-01'),
                (d('2026-01-10'), 'month', '2026-01-10'),
                (d('2026-04-01'), 'quarter', '2026-04-01'),
                ]:
            with self.subTest(start=start, period=period):
                self.assertEqual(
                    proration.tier_phase(start, period), d(expected))

    def test_last_window_end(self):
        for period, until, start, end, expected in [
                ('month', d('2026-02-01'), '2026-01-10', None, '2026-02-01'),
                ('month', d('2026-02-15'), '2026-01-10', None, '2026-02-01'),
                ('month', d('2026-01-25'), '2026-01-10', None, None),
                ('month', d('2026-02-01'), '2026-01-10', '2026-01-20',
                    '2026-01-20'),
                ('quarter', d('2026-05-01'), '2026-02-10', None,
                    '2026-04-01'),
                ('day', d('2026-01-12'), '2026-01-10', None, '2026-01-12'),
                ('day', d('2026-01-10'), '2026-01-10', None, None),
                ('hour', H(2026, 1, 12, 14), '2026-01-10', None,
                    '2026-01-12'),
                ('total', d('2026-03-01'), '2026-01-10', None, None),
                ('total', d('2026-03-01'), '2026-01-10', '2026-02-01',
                    '2026-02-01'),
                ]:
            with self.subTest(period=period, until=until):
                self.assertEqual(
                    proration.last_window_end(
                        period, until, d(start), d(end) if end else None),
                    d(expected) if expected else None)


class NextDueDateTestCase(unittest.TestCase):

    def test_next_due_date(self):
        lead = dt.timedelta(days=7)
        for args, expected in [
                (('monthly', 'limit', 'month', '2026-01-10', None, None),
                    '2026-02-01'),
                (('monthly', 'limit', 'month', '2026-01-10', None,
                        '2026-02-01'), '2026-03-01'),
                (('monthly', 'fixed', 'quarter', '2026-02-10', None, None),
                    '2026-04-01'),
                (('monthly', 'fixed', 'year', '2026-02-10', None,
                        '2027-01-01'), '2028-01-01'),
                (('monthly', 'one_time', 'total', '2026-02-10', None, None),
                    '2026-02-10'),
                (('monthly', 'one_time', 'total', '2026-02-10', None,
                        '2026-02-11'), None),
                (('prepaid', 'limit', 'month', '2025-12-01', '2026-03-01',
                        None), '2025-12-01'),
                (('prepaid', 'limit', 'month', '2025-12-01', '2026-03-01',
                        '2026-03-01'), None),
                (('monthly', 'usage', 'month', '2026-01-01', None, None),
                    None),
                (('monthly', 'limit', 'month', '2026-01-01', '2026-01-20',
                        '2026-01-20'), None),
                ]:
            with self.subTest(args=args):
                model, type_, period, start, end, billed = args
                self.assertEqual(
                    proration.next_due_date(
                        model, type_, period, d(start),
                        d(end) if end else None,
                        d(billed) if billed else None),
                    d(expected) if expected else None)
        self.assertEqual(
            proration.next_due_date('prepaid', 'limit', 'month',
                d('2025-12-01'), d('2026-03-01'), None, lead),
            d('2025-11-24'))

    def test_due_charges_before_start(self):
        "A running line that starts later owes nothing yet"
        self.assertEqual(
            proration.due_charges('monthly', 'limit', 'month',
                d('2026-03-01'), None, None, D(1), [], D(10),
                d('2026-02-01'), CENT),
            ([], None))


# Properties
# ---------------------------------------------------------------------------

DATES = st.dates(
    min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
QUANTITIES = st.decimals(
    min_value=0, max_value=10000, places=3, allow_nan=False,
    allow_infinity=False)


@st.composite
def tier_starts(draw):
    starts = sorted(draw(st.sets(
                st.integers(min_value=1, max_value=5000), max_size=4)))
    prices = draw(st.lists(
            st.decimals(min_value=0, max_value=10, places=4,
                allow_nan=False, allow_infinity=False),
            min_size=len(starts) + 1, max_size=len(starts) + 1))
    return list(zip([0] + starts, prices))


class UsagePropertyTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(tier_starts(), QUANTITIES, QUANTITIES,
        st.sampled_from(proration.TIER_MODES))
    def test_slices_price_like_tiered_amount(
            self, starts, quantity, used, mode):
        tiers = proration.tiers_from_starts(starts)
        slices = proration.tier_slices(quantity, tiers, mode, used)
        self.assertEqual(sum(q for q, _ in slices), Fraction(quantity))
        amount, priced = proration.price_usage(
            quantity, D('99'), CENT, tiers, mode, used)
        self.assertEqual(priced, slices)
        self.assertEqual(
            amount,
            proration.tiered_amount(quantity, tiers, mode, used, CENT))

    @PROPERTY_SETTINGS
    @given(
        DATES,
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=24 * 90 - 1),
                QUANTITIES),
            max_size=30),
        st.sampled_from(proration.USAGE_PERIODS),
        st.integers(min_value=0, max_value=24 * 120))
    def test_windows_partition_consumptions(
            self, start, raw, period, until_hours):
        "Each ended consumption is in exactly one window; sums are kept"
        origin = dt.datetime.combine(start, dt.time())
        end = start + dt.timedelta(days=90)
        consumptions = [
            (i, origin + dt.timedelta(hours=h), q)
            for i, (h, q) in enumerate(raw)]
        until = origin + dt.timedelta(hours=until_hours)
        windows = proration.usage_windows(
            consumptions, period, until, start, end)
        keys = [k for w in windows for k in w.keys]
        self.assertEqual(len(keys), len(set(keys)))
        by_key = {k: (m, q) for k, m, q in consumptions}
        for window in windows:
            self.assertEqual(
                window.quantity,
                sum((Fraction(by_key[k][1]) for k in window.keys),
                    Fraction(0)))
            self.assertLessEqual(
                proration._moment(window.period_end), until)
            self.assertLess(window.start, window.end)
            for key in window.keys:
                moment = by_key[key][0]
                if period == 'hour':
                    self.assertTrue(
                        window.period_start <= moment < window.period_end)
                else:
                    self.assertTrue(
                        window.start <= moment.date() < window.end)
        # The windows left out have not ended
        for key, moment, _ in consumptions:
            if key not in keys:
                bounds = proration._window_bounds(
                    moment, period, start, end)
                self.assertGreater(proration._moment(bounds[1]), until)
        # Windows are in order and do not overlap
        for left, right in zip(windows, windows[1:]):
            self.assertLessEqual(left.period_end, right.period_start)

    @PROPERTY_SETTINGS
    @given(tier_starts(), st.lists(QUANTITIES, min_size=1, max_size=20))
    def test_on_demand_phase_is_graduated_once(self, starts, quantities):
        """Windows of a phase priced one after the other with the phase's
        usage so far cost what the phase would cost at once, within one
        rounding unit per window."""
        tiers = proration.tiers_from_starts(starts)
        used = Fraction(0)
        total = D(0)
        for quantity in quantities:
            amount, _ = proration.price_usage(
                quantity, D(0), CENT, tiers, 'graduated', used)
            total += amount
            used += Fraction(quantity)
        whole, _ = proration.price_usage(
            sum(quantities), D(0), CENT, tiers, 'graduated')
        self.assertLessEqual(abs(total - whole), CENT * len(quantities))

    @PROPERTY_SETTINGS
    @given(
        st.sampled_from(['monthly', 'prepaid']),
        st.sampled_from(['fixed', 'limit', 'one_time']),
        st.sampled_from(proration.PERIODS),
        DATES, st.one_of(st.none(), st.integers(min_value=1, max_value=800)),
        st.integers(min_value=0, max_value=400))
    def test_next_due_date_is_first_charge(
            self, model, type_, period, start, length, billed_after):
        "due_charges owes nothing the day before next_due_date, and a "
        "charge on it"
        end = start + dt.timedelta(days=length) if length else None
        if model == 'prepaid' and end is None:
            end = start + dt.timedelta(days=90)
        billed_until = None
        if billed_after and type_ != 'one_time' and model == 'monthly' \
                and period != 'total':
            # a real watermark: the end of a billed period
            billed_until = proration.period_bounds(
                start + dt.timedelta(days=billed_after), period)[0]
            if billed_until <= start:
                billed_until = None
        due = proration.next_due_date(
            model, type_, period, start, end, billed_until)

        def charges(date):
            return proration.due_charges(
                model, type_, period, start, end, billed_until, D(2), [],
                D('10'), date, CENT)[0]
        if due is None:
            self.assertTrue(end is not None and billed_until is not None)
            self.assertEqual(charges(end + dt.timedelta(days=400)), [])
            return
        self.assertTrue(charges(due))
        self.assertEqual(charges(due - dt.timedelta(days=1)), [])


if __name__ == '__main__':
    unittest.main()
