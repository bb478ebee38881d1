# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the tiered usage prices (subscription_core.tier).

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import pathlib
import sys
import unittest
from fractions import Fraction

from hypothesis import given, strategies as st

try:
    import subscription_core  # noqa: F401
except ImportError:
    # Not installed: import the plain-Python files from their folder
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))
from subscription_core.money import exact_context
from subscription_core.tier import (
    describe_usage, indexed_slices, LinePricing, merged_slices,
    package_blocks,
    PackageTable, price_in_order, price_usage, Tier, TierTable,
    TIER_MODES, tier_slices, tiered_amount, TierError, tiers_from_starts,
    validate_tiers)
from subscription_core.tests.arithmetic import (
    CENT, D, PRICES, PROPERTY_SETTINGS, QUANTITIES, ROUNDINGS,
    USAGE_QUANTITIES)

F = Fraction


TIERS = [
    Tier(D('1000'), D('0.05')),
    Tier(D('5000'), D('0.04')),
    Tier(None, D('0.02')),
    ]


SMALL_TIERS = [
    Tier(D('10'), D('1.00')),
    Tier(D('50'), D('0.80')),
    Tier(None, D('0.50')),
    ]


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
                with self.assertRaises(TierError) as context:
                    validate_tiers(tiers)
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
                    tiers_from_starts(starts), expected)

    def test_tiers_from_starts_invalid(self):
        for starts, code in [
                ([], 'empty'),
                ([(10, D('1'))], 'first_not_zero'),
                ([(-1, D('1')), (0, D('1'))], 'first_not_zero'),
                ([(0, D('1')), (10, D('1')), (10, D('2'))], 'not_ascending'),
                ([(0, D('1')), (10, D('-0.01'))], 'negative_price'),
                ]:
            with self.subTest(starts=starts):
                with self.assertRaises(TierError) as context:
                    tiers_from_starts(starts)
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
                    tier_slices(quantity, TIERS, mode, used),
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
                    price_usage(*args, **kwargs), (amount, slices))

    def test_price_usage_invalid(self):
        with self.assertRaises(ValueError):
            price_usage(-1, D('1'), CENT)
        with self.assertRaises(TypeError):
            price_usage(1, 0.05, CENT)


class DescribeUsageTestCase(unittest.TestCase):

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
                    describe_usage(quantity, label, slices),
                    expected)


class TieredAmountTestCase(unittest.TestCase):

    def test_graduated(self):
        for quantity, already_used, expected in [
                (0, 0, D('0.00')),
                (5, 0, D('5.00')),
                (10, 0, D('10.00')),
                (30, 0, D('26.00')),  # 10 × 1 + 20 × 0.8
                (60, 0, D('47.00')),  # 10 + 40 × 0.8 + 10 × 0.5
                (D('2.5'), 0, D('2.50')),
                (5, 8, D('4.40')),  # 2 × 1 + 3 × 0.8
                (50, 8, D('38.00')),  # 2 × 1 + 40 × 0.8 + 8 × 0.5
                (5, 10, D('4.00')),  # starts exactly on a bound
                (10, 100, D('5.00')),
                ]:
            with self.subTest(quantity=quantity, already_used=already_used):
                self.assertEqual(
                    tiered_amount(
                        quantity, SMALL_TIERS, 'graduated', already_used,
                        rounding=CENT),
                    expected)

    def test_volume(self):
        for quantity, already_used, expected in [
                (0, 0, D('0.00')),
                (5, 0, D('5.00')),
                (10, 0, D('10.00')),  # bounds are inclusive
                (11, 0, D('8.80')),
                (30, 0, D('24.00')),
                (60, 0, D('30.00')),
                (2, 8, D('2.00')),  # total 10: first tier
                (5, 8, D('4.00')),  # total 13: second tier
                (5, 48, D('2.50')),  # total 53: last tier
                ]:
            with self.subTest(quantity=quantity, already_used=already_used):
                self.assertEqual(
                    tiered_amount(
                        quantity, SMALL_TIERS, mode='volume',
                        already_used=already_used, rounding=CENT),
                    expected)

    def test_single_open_tier_and_rounding(self):
        tiers = [Tier(None, D('0.333'))]
        for mode in TIER_MODES:
            with self.subTest(mode=mode):
                self.assertEqual(
                    tiered_amount(3, tiers, mode, rounding=CENT),
                    D('1.00'))
                self.assertEqual(
                    tiered_amount(
                        3, tiers, mode, rounding=D('0.001')),
                    D('0.999'))

    def test_tuples_accepted(self):
        self.assertEqual(
            tiered_amount(
                30, [(10, D('1')), (None, D('0.5'))], rounding=CENT),
            D('20.00'))

    def test_invalid_tiers(self):
        for name, tiers in [
                ('empty', []),
                ('last not open', [Tier(D('10'), D('1'))]),
                ('open not last', [Tier(None, D('1')), Tier(D('10'), D('1'))]),
                ('two open', [Tier(None, D('1')), Tier(None, D('2'))]),
                ('descending', [
                        Tier(D('50'), D('1')), Tier(D('10'), D('1')),
                        Tier(None, D('1'))]),
                ('equal', [
                        Tier(D('10'), D('1')), Tier(D('10'), D('2')),
                        Tier(None, D('1'))]),
                ('zero bound', [Tier(D('0'), D('1')), Tier(None, D('1'))]),
                ('negative bound',
                    [Tier(D('-5'), D('1')), Tier(None, D('1'))]),
                ]:
            with self.subTest(name):
                with self.assertRaises(ValueError):
                    validate_tiers(tiers)
                for mode in TIER_MODES:
                    with self.assertRaises(ValueError):
                        tiered_amount(
                            1, tiers, mode, rounding=CENT)

    def test_invalid_arguments(self):
        with self.assertRaises(ValueError):
            tiered_amount(1, SMALL_TIERS, 'stairstep', rounding=CENT)
        with self.assertRaises(ValueError):
            tiered_amount(-1, SMALL_TIERS, rounding=CENT)
        with self.assertRaises(ValueError):
            tiered_amount(1, SMALL_TIERS, already_used=-1, rounding=CENT)


# Properties
# ---------------------------------------------------------------------------

@st.composite
def tier_lists(draw):
    bounds = sorted(draw(st.sets(
                st.decimals(min_value=D('0.5'), max_value=1000, places=1,
                    allow_nan=False, allow_infinity=False),
                max_size=4)))
    prices = draw(st.lists(
            PRICES, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    return [Tier(b, p) for b, p in zip(bounds + [None], prices)]


@st.composite
def tier_starts(draw):
    starts = sorted(draw(st.sets(
                st.integers(min_value=1, max_value=5000), max_size=4)))
    prices = draw(st.lists(
            st.decimals(min_value=0, max_value=10, places=4,
                allow_nan=False, allow_infinity=False),
            min_size=len(starts) + 1, max_size=len(starts) + 1))
    return list(zip([0] + starts, prices))


class TierPropertyTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(tier_lists(), QUANTITIES, QUANTITIES, ROUNDINGS)
    def test_graduated_is_additive(self, tiers, a, b, rounding):
        def amount(quantity, already_used=0):
            return tiered_amount(
                quantity, tiers, 'graduated', already_used, rounding=rounding)
        both = amount(D(a) + D(b))
        self.assertLessEqual(
            abs(amount(a) + amount(b, already_used=a) - both), rounding)
        # with a fine enough rounding the split is exact
        fine = D('1E-10')
        self.assertEqual(
            tiered_amount(a, tiers, rounding=fine)
            + tiered_amount(b, tiers, already_used=a, rounding=fine),
            tiered_amount(D(a) + D(b), tiers, rounding=fine))

    @PROPERTY_SETTINGS
    @given(tier_starts(), USAGE_QUANTITIES, USAGE_QUANTITIES,
        st.sampled_from(TIER_MODES))
    def test_slices_price_like_tiered_amount(
            self, starts, quantity, used, mode):
        tiers = tiers_from_starts(starts)
        slices = tier_slices(quantity, tiers, mode, used)
        self.assertEqual(sum(q for q, _ in slices), Fraction(quantity))
        amount, priced = price_usage(
            quantity, D('99'), CENT, tiers, mode, used)
        self.assertEqual(priced, slices)
        self.assertEqual(
            amount,
            tiered_amount(quantity, tiers, mode, used, CENT))

    @PROPERTY_SETTINGS
    @given(tier_starts(), st.lists(USAGE_QUANTITIES, min_size=1, max_size=20))
    def test_on_demand_phase_is_graduated_once(self, starts, quantities):
        """Windows of a phase priced one after the other with the phase's
        usage so far cost what the phase would cost at once, within one
        rounding unit per window."""
        tiers = tiers_from_starts(starts)
        used = Fraction(0)
        total = D(0)
        for quantity in quantities:
            amount, _ = price_usage(
                quantity, D(0), CENT, tiers, 'graduated', used)
            total += amount
            used += Fraction(quantity)
        whole, _ = price_usage(
            sum(quantities), D(0), CENT, tiers, 'graduated')
        self.assertLessEqual(abs(total - whole), CENT * len(quantities))


class PriceInOrderTestCase(unittest.TestCase):
    "Each day's usage at the tier the usage before it reached (seed 004)"

    def test_table(self):
        table = [
            # graduated: the day that crosses 10 is cut at the tier
            ([4, 4, 4, 60], 'graduated', 0, D('53.00'), [
                    [(4, D('1.00'), 0)], [(4, D('1.00'), 0)],
                    [(2, D('1.00'), 0), (2, D('0.80'), 1)],
                    [(38, D('0.80'), 1), (22, D('0.50'), 2)]]),
            # volume: each day at the tier its cumulative total falls in;
            # the whole 72 at once would be 36.00
            ([4, 4, 4, 60], 'volume', 0, D('41.20'), [
                    [(4, D('1.00'), 0)], [(4, D('1.00'), 0)],
                    [(4, D('0.80'), 1)], [(60, D('0.50'), 2)]]),
            # after the usage already invoiced in the phase
            ([5], 'graduated', 48, D('3.10'), [
                    [(2, D('0.80'), 1), (3, D('0.50'), 2)]]),
            # a day without usage is priced at the tier reached, at 0
            ([0], 'graduated', 10, D('0.00'), [[(0, D('0.80'), 1)]]),
            ]
        for quantities, mode, used, amount, parts in table:
            with self.subTest(quantities=quantities, mode=mode):
                self.assertEqual(price_in_order(
                        quantities, None, CENT, SMALL_TIERS, mode, used),
                    (amount, parts))
        self.assertEqual(
            price_in_order([D('1.5'), 2], D('0.1'), CENT),
            (D('0.35'), [[(F(3, 2), D('0.1'), None)],
                    [(2, D('0.1'), None)]]))
        with self.assertRaises(ValueError):
            price_in_order([-1], D('1'), CENT)

    def test_merged_slices(self):
        _, parts = price_in_order([4, 4, 4, 60], None, CENT, SMALL_TIERS)
        self.assertEqual(merged_slices(parts),
            [(10, D('1.00')), (40, D('0.80')), (22, D('0.50'))])
        self.assertEqual(merged_slices([[(0, D('0.80'), 1)]]),
            [(0, D('0.80'))])
        self.assertEqual(merged_slices(
                [[(1, D('2'), None)], [(2, D('2'), None)]]), [(3, D('2'))])

    @PROPERTY_SETTINGS
    @given(tier_starts(), st.lists(USAGE_QUANTITIES, min_size=1, max_size=12),
        st.integers(min_value=0, max_value=12), USAGE_QUANTITIES,
        st.sampled_from(TIER_MODES))
    def test_windows_of_a_phase(self, starts, quantities, cut, used, mode):
        """Billed in one window or in two, the days of a phase are priced
        the same (exactly, before rounding), and the trace of a window adds
        up to its quantities and its amount"""
        tiers = tiers_from_starts(starts)
        fine = D('1E-12')
        cut = min(cut, len(quantities))
        whole, parts = price_in_order(
            quantities, None, fine, tiers, mode, used)
        first, _ = price_in_order(
            quantities[:cut], None, fine, tiers, mode, used)
        second, _ = price_in_order(quantities[cut:], None, fine, tiers,
            mode, Fraction(used) + sum(map(Fraction, quantities[:cut])))
        self.assertEqual(first + second, whole)
        for quantity, part in zip(quantities, parts):
            self.assertEqual(sum(q for q, _, _ in part), Fraction(quantity))
        amount, _ = price_in_order(quantities, None, CENT, tiers, mode, used)
        exact = sum((Fraction(q) * Fraction(p)
                for part in parts for q, p, _ in part), Fraction(0))
        self.assertLessEqual(abs(Fraction(amount) - exact), Fraction(CENT))


class PackageTestCase(unittest.TestCase):
    "The package mode: started blocks of N units of the phase's usage"

    def test_price_in_order(self):
        "Hand-computed blocks of 1000 units at 5.00 a block"
        table = [
            # cumulative 400, 1100, 1100, 2600: blocks 1, 2, 2, 3
            ([400, 700, 0, 1500], 0, D('15.00'), [1, 1, 0, 1]),
            # exactly on a block boundary: no extra block
            ([1000, 1000, 1], 0, D('15.00'), [1, 1, 1]),
            ([999, 1], 0, D('5.00'), [1, 0]),
            # a day inside a block already paid in the phase costs nothing
            ([300], 200, D('0.00'), [0]),
            ([300], 1000, D('5.00'), [1]),
            ([2500], 0, D('15.00'), [3]),
            # no usage costs nothing, at the start or within a block
            ([0], 0, D('0.00'), [0]),
            ([0, 0], 1500, D('0.00'), [0, 0]),
            ([D('0.001')], 0, D('5.00'), [1]),
            ([], 0, D('0.00'), []),
            ]
        for quantities, used, amount, blocks in table:
            with self.subTest(quantities=quantities, used=used):
                for tiers in [PackageTable(1000), 1000, D('1000')]:
                    self.assertEqual(price_in_order(
                            quantities, D('5.00'), CENT, tiers, 'package',
                            used),
                        (amount, [[(F(b), D('5.00'), None)]
                                for b in blocks]))

    def test_fractional_size_and_rounding(self):
        "A block of 2.5 units; a block price finer than the currency is "
        "rounded once for the charge, not per block"
        self.assertEqual(price_in_order(
                [D('2.5'), D('0.1'), D('4.9')], D('0.125'), CENT,
                PackageTable(D('2.5')), 'package'),
            (D('0.38'), [[(1, D('0.125'), None)], [(1, D('0.125'), None)],
                    [(1, D('0.125'), None)]]))
        self.assertEqual(package_blocks(F(5, 2), F(0), F(5, 2)), 1)
        self.assertEqual(package_blocks(F(1, 10), F(5, 2), F(5, 2)), 1)

    def test_describe(self):
        _, parts = price_in_order(
            [2500], D('5.00'), CENT, PackageTable(1000), 'package')
        self.assertEqual(
            describe_usage(D('2500'), 'calls', merged_slices(parts), 1000),
            "2500 calls: 3 blocks of 1000 × 5")
        _, parts = price_in_order(
            [300, 400], D('5.00'), CENT, PackageTable(1000), 'package')
        self.assertEqual(
            describe_usage(D('700'), None, merged_slices(parts), F(1000)),
            "700: 1 block of 1000 × 5")
        _, parts = price_in_order(
            [300], D('5.00'), CENT, PackageTable(1000), 'package', 200)
        self.assertEqual(
            describe_usage(D('300'), 'GB', merged_slices(parts), 1000),
            "300 GB: 0 blocks of 1000 × 5")

    def test_errors(self):
        for size in [0, -1, D('0'), D('NaN'), D('Infinity'), 'ten', None]:
            with self.subTest(size=size):
                with self.assertRaises(TierError) as context:
                    PackageTable(size)
                self.assertEqual(context.exception.code, 'package_size')
        with self.assertRaises(TierError):
            price_in_order([1], D('5'), CENT, 0, 'package')
        # package prices blocks, not tiers; tiers price no blocks
        for tiers in [None, SMALL_TIERS, TierTable(SMALL_TIERS)]:
            with self.assertRaises(ValueError):
                price_in_order([1], D('5'), CENT, tiers, 'package')
        with self.assertRaises(ValueError):
            price_in_order([1], D('5'), CENT, PackageTable(10), 'graduated')
        with self.assertRaises(ValueError):
            price_in_order([-1], D('5'), CENT, PackageTable(10), 'package')
        with self.assertRaises(ValueError):
            price_in_order([1], D('5'), CENT, PackageTable(10), 'package', -1)
        with self.assertRaises(TypeError):
            price_in_order([1], None, CENT, PackageTable(10), 'package')
        for function in [tier_slices, indexed_slices]:
            with self.assertRaises(ValueError):
                function(1, SMALL_TIERS, 'package')
        with self.assertRaises(ValueError):
            tiered_amount(1, SMALL_TIERS, 'package')
        with self.assertRaises(ValueError):
            price_usage(1, D('5'), CENT, SMALL_TIERS, 'package')

    @PROPERTY_SETTINGS
    @given(st.lists(USAGE_QUANTITIES, min_size=1, max_size=12),
        st.integers(min_value=0, max_value=12), USAGE_QUANTITIES,
        st.decimals(min_value=D('0.001'), max_value=5000, places=3,
            allow_nan=False, allow_infinity=False),
        PRICES, ROUNDINGS)
    def test_windows_of_a_phase(self, quantities, cut, used, size, price,
            rounding):
        """Billed in one window or in several, the days of a phase cost the
        same blocks: those of the phase's cumulative usage (the counts
        telescope), so the same exact amount; rounded once per charge, the
        same amount when the block price is a multiple of the rounding"""
        table = PackageTable(size)
        fine = D('1E-12')
        cut = min(cut, len(quantities))
        before = F(used) + sum(map(F, quantities[:cut]))
        whole, parts = price_in_order(
            quantities, price, fine, table, 'package', used)
        first, first_parts = price_in_order(
            quantities[:cut], price, fine, table, 'package', used)
        second, second_parts = price_in_order(
            quantities[cut:], price, fine, table, 'package', before)
        self.assertEqual(first + second, whole)
        self.assertEqual(first_parts + second_parts, parts)
        blocks = sum(F(part[0][0]) for part in parts)
        total = F(used) + sum(map(F, quantities))
        self.assertEqual(blocks, package_blocks(total - F(used), F(used),
                F(size)))
        self.assertEqual(
            package_blocks(total, F(0), F(size)),
            package_blocks(F(used), F(0), F(size)) + blocks)
        for part in parts:
            (count, unit_price, index), = part
            self.assertEqual((Fraction(count).denominator, unit_price, index),
                (1, price, None))
            self.assertGreaterEqual(count, 0)
        amount, _ = price_in_order(
            quantities, price, rounding, table, 'package', used)
        self.assertLessEqual(
            abs(F(amount) - blocks * F(price)), F(rounding) / 2)
        if F(price) % F(rounding) == 0:
            cut_amounts = [price_in_order(q, price, rounding, table,
                    'package', u)[0] for q, u in [
                    (quantities[:cut], used), (quantities[cut:], before)]]
            self.assertEqual(sum(cut_amounts), amount)


if __name__ == '__main__':
    unittest.main()


class LinePricingSingleTestCase(unittest.TestCase):
    "LinePricing.single: one quantity in one slice, as LinePricing() prices it"

    def assert_as_call(self, tiers, mode, unit_price=D('0.30')):
        pricing = LinePricing(unit_price, CENT, tiers, mode)
        with exact_context():
            single = pricing.single()
        quantities = [D(q) for q in [
                '0', '0.0', '0.5', '1', '4', '4.50', '5', '5.0', '6', '10',
                '10.000', '11', '25', '60', '1E+1']]
        used_values = [0] + [D(u) for u in [
                '0', '3', '4.5', '5', '5.00', '9', '10', '10.5', '49', '50',
                '70']]
        for quantity in quantities:
            for used in used_values:
                with self.subTest(quantity=quantity, used=used, mode=mode):
                    with exact_context():
                        got = single(quantity, used)
                        amount, parts = pricing([quantity], used)
                    if len(parts[0]) != 1:
                        # Across tiers: for LinePricing() (None)
                        self.assertIsNone(got)
                        continue
                    (q, price, index), = parts[0]
                    self.assertEqual(q, quantity)
                    self.assertIsNotNone(got)
                    self.assertEqual(repr(got), repr((amount, price, index)))

    def test_graduated(self):
        self.assert_as_call(SMALL_TIERS, 'graduated')

    def test_volume(self):
        self.assert_as_call(SMALL_TIERS, 'volume')

    def test_integer_tier_price(self):
        "The tier's price as the slices give it (an int stays an int)"
        self.assert_as_call(
            [Tier(D('5'), 2), Tier(None, D('1.5'))], 'graduated')

    def test_unit_price(self):
        self.assert_as_call(None, 'graduated')
        self.assert_as_call(None, 'graduated', unit_price=3)

    def test_not_single(self):
        "Anything else is left to LinePricing()"
        pricing = LinePricing(D('0.30'), CENT, SMALL_TIERS, 'graduated')
        with exact_context():
            single = pricing.single()
            for quantity, used in [
                    (D('-1'), 0), (D('1'), D('-1')), (F(1, 3), 0),
                    (1.5, 0), (D('NaN'), 0), (D('Infinity'), 0),
                    (D('5'), F(1, 3)), (D(1).scaleb(-85), D('5'))]:
                with self.subTest(quantity=quantity, used=used):
                    self.assertIsNone(single(quantity, used))
            self.assertIsNone(LinePricing(D('5'), CENT, PackageTable(10),
                    'package').single()(D(1), 0))
            # A price that is not a decimal number
            self.assertIsNone(LinePricing(F(1, 3), CENT).single()(D(1), 0))
