# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the charges of usage windows (subscription_core.usage_charge).

Pure Python: runs with pytest or plain unittest, no database needed.

The rating was made faster (issue 15: the tiers validated once per line,
not per day; the days' descriptions worded once): ``OldRating`` below is a
copy of the algorithm before that change (``tier.price_in_order`` and
``Consumption._get_line_usage_charges`` of commit d90aef2, without the
ORM, with merged_slices and describe_usage as they were), and the new one
must give exactly the same charges: amounts, quantities (their Decimal
exponent too), traces, origins, descriptions.
"""
import datetime as dt
import pathlib
import sys
import unittest
from collections import defaultdict
from decimal import Decimal, localcontext
from fractions import Fraction

from hypothesis import given, strategies as st

try:
    import subscription_core  # noqa: F401
except ImportError:
    # Not installed: import the plain-Python files from their folder
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))
from subscription_core.charge import Charge
from subscription_core.money import (
    _decimal_quantity, _fraction, _quantity, money_rounding, round_money)
from subscription_core.period import describe_window
from subscription_core.tier import (
    PackageTable, TierTable, Tier, tiers_from_starts, validate_tiers)
from subscription_core.usage_charge import window_charges
from subscription_core.usage_window import tier_phase, usage_windows
from subscription_core.tests.arithmetic import (
    CENT, D, PROPERTY_SETTINGS, ROUNDINGS)


class OldRating:
    "The rating of a line's windows as it was (one validation per day)"

    @staticmethod
    def indexed_slices(quantity, tiers, mode='graduated', already_used=0):
        if mode not in ('graduated', 'volume'):
            raise ValueError(mode)
        tiers = validate_tiers(tiers)
        quantity = _quantity(quantity)
        used = _quantity(already_used, 'already_used')
        if quantity < 0 or used < 0:
            raise ValueError("quantity and already_used must not be negative")
        low, high = used, used + quantity
        if not quantity:
            index = next(i for i, t in enumerate(tiers)
                if t.up_to is None or low < _quantity(t.up_to))
            return [(quantity, tiers[index].unit_price, index)]
        if mode == 'volume':
            index = next(i for i, t in enumerate(tiers)
                if t.up_to is None or high <= _quantity(t.up_to))
            return [(quantity, tiers[index].unit_price, index)]
        slices = []
        floor = Fraction(0)
        for index, tier in enumerate(tiers):
            ceiling = None if tier.up_to is None else _quantity(tier.up_to)
            top = high if ceiling is None else min(high, ceiling)
            portion = top - max(low, floor)
            if portion > 0:
                slices.append((portion, tier.unit_price, index))
            if ceiling is None or ceiling >= high:
                break
            floor = ceiling
        return slices

    @classmethod
    def price_in_order(cls, quantities, unit_price, rounding, tiers=None,
            mode='graduated', already_used=0):
        used = _quantity(already_used, 'already_used')
        parts = []
        for quantity in quantities:
            quantity = _quantity(quantity)
            if tiers:
                part = cls.indexed_slices(quantity, tiers, mode, used)
            else:
                if quantity < 0:
                    raise ValueError("quantity must not be negative")
                _fraction(unit_price, 'unit_price')
                part = [(quantity, unit_price, None)]
            parts.append(part)
            used += quantity
        exact = sum((q * _fraction(p, 'unit_price')
                for part in parts for q, p, _ in part), Fraction(0))
        return round_money(exact, rounding), parts

    @staticmethod
    def merged_slices(parts):
        merged = {}
        for part in parts:
            for quantity, price, index in part:
                key = (-1 if index is None else index, price)
                merged[key] = merged.get(key, Fraction(0)) + quantity
        slices = [(q, p) for (_, p), q in sorted(merged.items(),
                key=lambda i: i[0][0]) if q]
        if not slices and merged:
            (_, price), quantity = next(iter(merged.items()))
            slices = [(quantity, price)]
        return slices

    @staticmethod
    def format_quantity(quantity):
        if isinstance(quantity, int) and not isinstance(quantity, bool):
            return str(quantity)
        value = _quantity(quantity)
        if value.denominator == 1:
            return str(value.numerator)
        if isinstance(quantity, Fraction):
            decimal = Decimal(value.numerator) / Decimal(value.denominator)
            if Fraction(decimal) != value:
                return str(quantity)
            quantity = decimal
        elif isinstance(quantity, float):
            quantity = Decimal(repr(quantity))
        return format(quantity.normalize(), 'f')

    @classmethod
    def describe_usage(cls, quantity, unit_label, slices):
        def format_price(price):
            if isinstance(price, Decimal):
                return format(price.normalize(), 'f')
            return cls.format_quantity(price)
        head = cls.format_quantity(quantity)
        if unit_label:
            head = f"{head} {unit_label}"
        if (len(slices) == 1
                and _quantity(slices[0][0]) == _quantity(quantity)):
            return f"{head} × {format_price(slices[0][1])}"
        return head + ': ' + ' + '.join(
            f"{cls.format_quantity(q)} × {format_price(p)}"
            for q, p in slices)

    @staticmethod
    def decimal(fraction):
        return Decimal(fraction.numerator) / Decimal(fraction.denominator)

    @classmethod
    def charges(cls, line_id, period, unit_price, rounding, tiers, mode,
            label, windows, phase_used, invoiced_windows, usage):
        "_get_line_usage_charges; origins: None for the line, or a key"
        hourly = period == 'hour'
        charges = []
        for window in windows:
            phase = tier_phase(window.period_start, period)
            ordered = sorted(usage[k] for k in window.keys)
            amount, parts = cls.price_in_order(
                [q for _, _, q in ordered], unit_price, rounding,
                tiers, mode, phase_used[line_id, phase])
            slices = cls.merged_slices(parts)
            trace = tuple((key, cls.decimal(q), price, index)
                for (_, key, _), part in zip(ordered, parts)
                for q, price, index in part)
            phase_used[line_id, phase] += window.quantity
            adjusts = invoiced_windows.get((line_id, window.period_start))
            if hourly:
                days = describe_window(
                    window.period_start, window.period_end)
            else:
                days = describe_window(window.start, window.end)
            description = '%s %s' % (cls.describe_usage(
                    cls.decimal(window.quantity), label, slices), days)
            if adjusts:
                description = 'late: ' + description
            origin = min(window.keys) if adjusts or hourly else None
            charges.append((origin, Charge(
                        window.period_start, window.period_end,
                        window.start, window.end,
                        cls.decimal(window.quantity), amount,
                        adjusts=adjusts, sources=window.keys,
                        description=description, trace=trace)))
        return charges


def late(description):
    return 'late: ' + description


def new_charges(period, unit_price, rounding, tiers, mode, label, windows,
        used, adjusted, usage):
    return window_charges(windows, usage, period, unit_price, rounding,
        tiers, mode, dict(used), adjusted, label, late, {})


def same(test, old, new):
    "Equal, and the Decimals with the same digits and exponents"
    test.assertEqual(old, new)
    test.assertEqual(repr(old), repr(new))


START = dt.date(2025, 1, 1)

# A month of consumptions: (day offset, hour, quantity)
CONSUMPTIONS = st.lists(st.tuples(
        st.integers(min_value=0, max_value=61),
        st.integers(min_value=0, max_value=23),
        st.one_of(
            st.integers(min_value=0, max_value=3000),
            st.decimals(min_value=0, max_value=3000, places=3,
                allow_nan=False, allow_infinity=False),
            st.floats(min_value=0, max_value=3000, allow_nan=False,
                allow_infinity=False).map(lambda f: round(f, 4)),
            # More digits than money.EXACT keeps once summed with the
            # others: rated in Fractions
            st.integers(min_value=1, max_value=9).map(
                lambda n: Decimal(n).scaleb(-85)))),
    min_size=1, max_size=40)
TIER_STARTS = st.lists(
    st.tuples(st.integers(min_value=1, max_value=5000),
        st.decimals(min_value=0, max_value=5, places=4, allow_nan=False,
            allow_infinity=False)),
    max_size=4, unique_by=lambda s: s[0])


class WindowChargesTestCase(unittest.TestCase):

    def test_table(self):
        "Days crossing a tier in a month, a late day and an hour window"
        tiers = [Tier(D('10'), D('1.00')), Tier(None, D('0.50'))]
        usage = {
            1: (dt.datetime(2025, 1, 1), 1, Fraction(6)),
            2: (dt.datetime(2025, 1, 2), 2, Fraction(6)),
            3: (dt.datetime(2025, 1, 3), 3, Fraction(3, 2)),
            }
        windows = usage_windows(((k, m, q) for m, k, q in usage.values()),
            'day', dt.date(2025, 2, 1), START)
        used = {START: Fraction(0)}
        charges = window_charges(windows, usage, 'day', None, CENT, tiers,
            'graduated', used, {dt.date(2025, 1, 3): 42}, 'calls', late)
        self.assertEqual([(o, c.amount, c.quantity, c.description, c.adjusts)
                for o, c in charges], [
                (None, D('6.00'), D('6'), '6 calls × 1 (2025-01-01)', None),
                (None, D('5.00'), D('6'),
                    '6 calls: 4 × 1 + 2 × 0.5 (2025-01-02)', None),
                (3, D('0.75'), D('1.5'),
                    'late: 1.5 calls × 0.5 (2025-01-03)', 42),
                ])
        self.assertEqual(used, {START: Fraction(27, 2)})
        self.assertEqual(charges[1][1].trace, (
                (2, D('4'), D('1.00'), 0), (2, D('2'), D('0.50'), 1)))

        hour = dt.datetime(2025, 1, 5, 13, 20)
        usage = {7: (hour, 7, Fraction(2)), 5: (hour, 5, Fraction(1))}
        windows = usage_windows(((k, m, q) for m, k, q in usage.values()),
            'hour', dt.date(2025, 2, 1), START)
        (origin, charge), = window_charges(windows, usage, 'hour',
            D('0.25'), CENT)
        self.assertEqual(origin, 5)
        self.assertEqual((charge.amount, charge.quantity, charge.sources,
                charge.description), (D('0.75'), D('3'), (7, 5),
                '3 × 0.25 (2025-01-05 13:00–14:00 UTC)'))

    def test_package_table(self):
        """Blocks of 1000 calls at 5.00, per day in a month phase: each day
        pays the blocks the cumulative usage of the month starts"""
        usage = {}
        # cumulative 400, 1100, 1100, 2600, 3000, 3001: blocks 1, 2, 2, 3,
        # 3 (exactly on the boundary), 4
        for key, (day, calls) in enumerate(
                [(1, 400), (2, 700), (3, 0), (4, 1500), (5, 400), (6, 1)],
                1):
            usage[key] = (dt.datetime(2025, 1, day), key, Fraction(calls))
        windows = usage_windows(((k, m, q) for m, k, q in usage.values()),
            'day', dt.date(2025, 2, 1), START)
        used = {}
        charges = window_charges(windows, usage, 'day', D('5.00'), CENT,
            PackageTable(1000), 'package', used, {}, 'calls', late)
        self.assertEqual([(c.amount, c.quantity, c.description, c.trace)
                for _, c in charges], [
                (D('5.00'), D('400'),
                    '400 calls: 1 block of 1000 × 5 (2025-01-01)',
                    ((1, D(1), D('5.00'), None),)),
                (D('5.00'), D('700'),
                    '700 calls: 1 block of 1000 × 5 (2025-01-02)',
                    ((2, D(1), D('5.00'), None),)),
                (D('0.00'), D('0'),
                    '0 calls: 0 blocks of 1000 × 5 (2025-01-03)',
                    ((3, D(0), D('5.00'), None),)),
                (D('5.00'), D('1500'),
                    '1500 calls: 1 block of 1000 × 5 (2025-01-04)',
                    ((4, D(1), D('5.00'), None),)),
                (D('0.00'), D('400'),
                    '400 calls: 0 blocks of 1000 × 5 (2025-01-05)',
                    ((5, D(0), D('5.00'), None),)),
                (D('5.00'), D('1'),
                    '1 calls: 1 block of 1000 × 5 (2025-01-06)',
                    ((6, D(1), D('5.00'), None),)),
                ])
        self.assertEqual(used, {START: Fraction(3001)})
        # The month in one window: the same 4 blocks, one line per day of
        # its trace
        windows = usage_windows(((k, m, q) for m, k, q in usage.values()),
            'month', dt.date(2025, 2, 1), START)
        (origin, charge), = window_charges(windows, usage, 'month',
            D('5.00'), CENT, PackageTable(1000), 'package', {}, {}, 'calls')
        self.assertEqual((origin, charge.amount, charge.description), (
                None, D('20.00'),
                '3001 calls: 4 blocks of 1000 × 5 (2025-01-01 – 2025-01-31)'))
        self.assertEqual([q for _, q, _, _ in charge.trace],
            [1, 1, 0, 1, 0, 1])

    @PROPERTY_SETTINGS
    @given(CONSUMPTIONS, st.sampled_from(['day', 'hour', 'month', 'total']),
        TIER_STARTS, st.decimals(min_value=0, max_value=5, places=4,
            allow_nan=False, allow_infinity=False),
        st.sampled_from(['graduated', 'volume']), ROUNDINGS,
        st.lists(st.integers(min_value=0, max_value=61), max_size=5),
        st.integers(min_value=0, max_value=2000),
        st.sampled_from([None, 'GB']),
        st.sampled_from([_quantity, _decimal_quantity]))
    def test_same_as_before(self, consumptions, period, starts, first_price,
            mode, rounding, late_days, used_before, label, read):
        """The new rating gives exactly the charges of the old one, from
        quantities read as Fractions or as Decimals (what the engine reads
        now: priced in Decimals under money.EXACT, in Fractions when they
        need more digits)"""
        end = START + dt.timedelta(days=62)
        usage, old_usage, rows, old_rows = {}, {}, [], []
        for key, (offset, hour, quantity) in enumerate(consumptions, 1):
            moment = dt.datetime.combine(
                START + dt.timedelta(days=offset), dt.time(hour))
            if period != 'hour' and key % 2:
                # The moment of a consumption without time is its date
                moment = moment.date()
            at = (moment if isinstance(moment, dt.datetime)
                else dt.datetime.combine(moment, dt.time()))
            # As read: the quantity of a record before, a Fraction now
            old_usage[key] = (at, key, quantity)
            usage[key] = (at, key, read(quantity))
            old_rows.append((key, moment, quantity))
            rows.append((key, moment, read(quantity)))
        until = dt.datetime(2025, 3, 4)
        windows = usage_windows(rows, period, until, START, end)
        self.assertEqual(
            usage_windows(old_rows, period, until, START, end), windows)
        # The old rating summed Fractions
        fraction_windows = usage_windows(
            [(k, m, _quantity(q)) for k, m, q in old_rows], period, until,
            START, end)
        self.assertEqual(fraction_windows, windows)
        self.assertTrue(all(type(w.quantity) is Fraction
                for w in fraction_windows))
        tiers = (tiers_from_starts([(0, first_price)] + starts)
            if starts else None)
        line = 7
        phases = {tier_phase(w.period_start, period) for w in windows}
        # Some phases with usage invoiced before, the others without
        phase_used = defaultdict(Fraction, {(line, p): Fraction(used_before)
                for p in sorted(phases)[::2]})
        late_starts = {START + dt.timedelta(days=d) for d in late_days}
        invoiced = {(line, w.period_start): 100 + i
            for i, w in enumerate(windows)
            if tier_phase(w.period_start, 'day') in late_starts
            or w.start in late_starts}
        old_used = defaultdict(Fraction, phase_used)
        old = OldRating.charges(line, period, first_price, rounding, tiers,
            mode, label, fraction_windows, old_used, invoiced, old_usage)
        used = {p: read(q) for (_, p), q in phase_used.items()}
        adjusted = {s: i for (_, s), i in invoiced.items()}
        for given_tiers in [tiers, TierTable(tiers) if tiers else None]:
            new_used = dict(used)
            new = window_charges(windows, usage, period, first_price,
                rounding, given_tiers, mode, new_used, adjusted, label,
                late, {})
            same(self, old, new)
            self.assertEqual(
                {(line, p): q for p, q in new_used.items()}, dict(old_used))


    def test_more_digits_than_exact(self):
        """Quantities whose sum needs more digits than money.EXACT keeps
        are rated in Fractions: the same charges as the old rating"""
        tiers = tiers_from_starts([(0, D('1.00')), (10, D('0.50'))])
        tiny = D(3).scaleb(-85)
        consumptions = [(1, dt.datetime(2025, 1, 1, 5), D('12')),
            (2, dt.datetime(2025, 1, 1, 7), tiny),
            (3, dt.datetime(2025, 1, 2, 1), D('0.5'))]
        old_usage = {k: (m, k, q) for k, m, q in consumptions}
        usage = {k: (m, k, _decimal_quantity(q)) for k, m, q in consumptions}
        windows = usage_windows(consumptions, 'day', dt.date(2025, 2, 1),
            START)
        # The first day's sum is exact: the line's windows in Fractions
        self.assertEqual(windows[0].quantity, 12 + Fraction(tiny))
        self.assertEqual([type(w.quantity) for w in windows],
            [Fraction, Fraction])
        old = OldRating.charges(1, 'day', None, CENT, tiers, 'graduated',
            None, usage_windows(
                [(k, m, _quantity(q)) for k, m, q in consumptions], 'day',
                dt.date(2025, 2, 1), START),
            defaultdict(Fraction), {}, old_usage)
        used = {}
        new = window_charges(windows, usage, 'day', None, CENT, tiers,
            'graduated', used, {}, None, late, {})
        same(self, old, new)
        self.assertEqual([c.amount for _, c in new], [D('11.00'), D('0.25')])
        self.assertEqual(used, {START: Fraction(D('12.5')) + Fraction(tiny)})

    def test_decimal_rating(self):
        "Decimal quantities are priced in Decimals: the trace's digits"
        usage = {1: (dt.datetime(2025, 1, 1), 1, D('2.50')),
            2: (dt.datetime(2025, 1, 1), 2, D('0.25'))}
        windows = usage_windows(((k, m, q) for m, k, q in usage.values()),
            'month', dt.date(2025, 2, 1), START)
        self.assertEqual(windows[0].quantity, D('2.75'))
        (_, charge), = window_charges(windows, usage, 'month', D('0.10'),
            CENT, label='GB')
        self.assertEqual((charge.amount, charge.quantity, charge.trace,
                charge.description), (D('0.28'), D('2.75'),
                ((1, D('2.5'), D('0.10'), None),
                    (2, D('0.25'), D('0.10'), None)),
                '2.75 GB × 0.1 (2025-01-01 – 2025-01-31)'))
        self.assertEqual(repr(charge.quantity), "Decimal('2.75')")


class MoneyRoundingTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(st.one_of(
            st.fractions(min_value=-10**9, max_value=10**9),
            st.decimals(min_value=-10**9, max_value=10**9, places=12,
                allow_nan=False, allow_infinity=False)),
        st.sampled_from([D('0.01'), D('1'), D('0.001'), D('0.05'),
                D('1E-6'), D('10'), D('0.010'), D('1E+1')]))
    def test_same_as_round_money(self, value, rounding):
        """money_rounding and round_money's Decimal shortcut give what the
        Fraction arithmetic gives, to the digits"""
        expected = round_money(Fraction(value), rounding)
        same(self, expected, round_money(value, rounding))
        same(self, expected, money_rounding(rounding)(value))


class TierTableTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(TIER_STARTS, st.lists(st.decimals(min_value=0, max_value=6000,
                places=3, allow_nan=False, allow_infinity=False),
            max_size=10),
        st.sampled_from(['graduated', 'volume']),
        st.integers(min_value=0, max_value=6000), ROUNDINGS)
    def test_price_in_order_as_before(self, starts, quantities, mode, used,
            rounding):
        "price_in_order with the tiers or a TierTable: as before"
        from subscription_core.tier import price_in_order
        tiers = tiers_from_starts([(0, D('0.7'))] + starts)
        old_amount, old_parts = OldRating.price_in_order(
            quantities, None, rounding, tiers, mode, used)
        for given_tiers in [tiers, TierTable(tiers)]:
            amount, parts = price_in_order(
                quantities, None, rounding, given_tiers, mode, used)
            # The amount to its digits; the slices of these decimal
            # quantities are now Decimals (under money.EXACT), equal to
            # the Fractions they were
            same(self, old_amount, amount)
            self.assertEqual(old_parts, parts)
            self.assertTrue(all(type(q) is Decimal
                    for part in parts for q, _, _ in part))
        # In Fractions when a quantity is not a decimal number: as before
        thirds = [Fraction(q) + Fraction(1, 3) for q in quantities]
        same(self, OldRating.price_in_order(
                thirds, None, rounding, tiers, mode, used),
            price_in_order(thirds, None, rounding, tiers, mode, used))

    @PROPERTY_SETTINGS
    @given(st.fractions(min_value=-10**9, max_value=10**9),
        st.sampled_from([D('0.01'), D('1'), D('0.001'), D('0.05'),
                D('1E-6'), D('10'), D('0.010')]))
    def test_round_money_as_before(self, value, rounding):
        "round_money, with its shortcut for a power of ten, as before"
        exponent = min(rounding.as_tuple().exponent, 0)
        units = round(value / Fraction(rounding))
        with localcontext() as context:
            context.prec = max(28, len(str(abs(units)))
                + len(rounding.as_tuple()[1]) + 2)
            old = (Decimal(units) * rounding).quantize(
                Decimal(1).scaleb(exponent))
        same(self, old, round_money(value, rounding))

    def test_errors_as_before(self):
        from subscription_core.tier import price_in_order, TierError
        self.assertEqual(price_in_order([], None, CENT, [Tier(1, D(1))]),
            (D('0.00'), []))
        with self.assertRaises(TierError):
            price_in_order([1], None, CENT, [Tier(1, D(1))])
        with self.assertRaises(ValueError):
            price_in_order([1], None, CENT, [Tier(None, D(1))], 'flat')
        with self.assertRaises(ValueError):
            price_in_order([-1], None, CENT, [Tier(None, D(1))])
        with self.assertRaises(TypeError):
            price_in_order([1], 0.5, CENT)


if __name__ == '__main__':
    unittest.main()
