# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the credit and compensation arithmetic (adjustment.py).

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import datetime as dt
import unittest
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from subscription_core import adjustment
from subscription_core.money import round_money
from subscription_core.adjustment import (
    Allocation, BilledPiece, CreditBalance, InvoiceCapacity, Refund)

D = Decimal
CENT = D('0.01')
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)


def d(text):
    return dt.date.fromisoformat(text)


def allocations(balances, capacities):
    result, left = adjustment.allocate_credits(
        [CreditBalance(*b) for b in balances],
        [InvoiceCapacity(*c) for c in capacities])
    return [(a.credit, a.invoice, str(a.amount)) for a in result], {
        k: str(v) for k, v in left.items()}


class AllocateCreditsTestCase(unittest.TestCase):

    def test_allocate_credits(self):
        for name, balances, capacities, expected, left in [
                ("credit larger than the invoice: invoice reaches zero",
                    [('c', D('100.00'))],
                    [('i', D('80.64'))],
                    [('c', 'i', '80.64')], {'c': '19.36'}),
                ("the remainder offsets the next invoice",
                    [('c', D('19.36'))],
                    [('i', D('130.00'))],
                    [('c', 'i', '19.36')], {'c': '0.00'}),
                ("credit equal to the invoice",
                    [('c', D('50.00'))], [('i', D('50.00'))],
                    [('c', 'i', '50.00')], {'c': '0.00'}),
                ("over several invoices in order",
                    [('c', D('100.00'))],
                    [('i1', D('30.00')), ('i2', D('30.00')),
                        ('i3', D('70.00'))],
                    [('c', 'i1', '30.00'), ('c', 'i2', '30.00'),
                        ('c', 'i3', '40.00')], {'c': '0.00'}),
                ("several credits on one invoice, in order",
                    [('a', D('10.00')), ('b', D('100.00'))],
                    [('i', D('25.00'))],
                    [('a', 'i', '10.00'), ('b', 'i', '15.00')],
                    {'a': '0.00', 'b': '85.00'}),
                ("zero and negative totals are not offset",
                    [('c', D('10.00'))],
                    [('zero', D('0.00')), ('minus', D('-5.00')),
                        ('i', D('4.00'))],
                    [('c', 'i', '4.00')], {'c': '6.00'}),
                ("zero balance", [('c', D('0.00'))], [('i', D('5.00'))],
                    [], {'c': '0.00'}),
                ("no invoice", [('c', D('5.00'))], [], [], {'c': '5.00'}),
                ("restricted credit: only the part of its subscription",
                    [('c', D('40.00'), 's2')],
                    [('i', D('146.00'), {'s1': D('130.00'),
                                's2': D('16.00')})],
                    [('c', 'i', '16.00')], {'c': '24.00'}),
                ("restricted credit skips invoices without its part",
                    [('c', D('40.00'), 's2')],
                    [('i1', D('130.00'), {'s1': D('130.00')}),
                        ('i2', D('16.00'), {'s2': D('16.00')})],
                    [('c', 'i2', '16.00')], {'c': '24.00'}),
                ("restricted credits share their part",
                    [('a', D('10.00'), 's'), ('b', D('10.00'), 's')],
                    [('i', D('100.00'), {'s': D('15.00')})],
                    [('a', 'i', '10.00'), ('b', 'i', '5.00')],
                    {'a': '0.00', 'b': '5.00'}),
                ("restricted then general credit: total never below zero",
                    [('r', D('16.00'), 's2'), ('g', D('200.00'))],
                    [('i', D('146.00'), {'s2': D('16.00')})],
                    [('r', 'i', '16.00'), ('g', 'i', '130.00')],
                    {'r': '0.00', 'g': '70.00'}),
                ("a part larger than the total is capped by the total",
                    [('g', D('90.00')), ('r', D('50.00'), 's')],
                    [('i', D('100.00'), {'s': D('40.00')})],
                    [('g', 'i', '90.00'), ('r', 'i', '10.00')],
                    {'g': '0.00', 'r': '40.00'}),
                ("other roundings",
                    [('c', D('7'))], [('i', D('5'))],
                    [('c', 'i', '5')], {'c': '2'}),
                ]:
            with self.subTest(name):
                balances = [b if len(b) == 3 else b + (None,)
                    for b in balances]
                capacities = [c if len(c) == 3 else c + ({},)
                    for c in capacities]
                self.assertEqual(
                    allocations(balances, capacities), (expected, left))

    def test_allocate_credits_invalid(self):
        for balances, capacities, error in [
                ([CreditBalance('c', D('-1.00'))],
                    [InvoiceCapacity('i', D('5.00'))], ValueError),
                ([CreditBalance('c', 1.5)],
                    [InvoiceCapacity('i', D('5.00'))], TypeError),
                ([CreditBalance('c', D('1.00'))],
                    [InvoiceCapacity('i', 5.0)], TypeError),
                ([CreditBalance('c', D('1.00'), 's')],
                    [InvoiceCapacity('i', D('5.00'), {'s': D('NaN')})],
                    ValueError),
                ]:
            with self.subTest(balances=balances, capacities=capacities):
                with self.assertRaises(error):
                    adjustment.allocate_credits(balances, capacities)


class PeriodShareTestCase(unittest.TestCase):

    def test_period_share(self):
        january = (d('2026-01-01'), d('2026-02-01'))
        for amount, start, end, period, expected in [
                # a January piece, inside January
                ('11.61', '2026-01-10', '2026-01-19', january,
                    Fraction('11.61')),
                # the whole month
                ('130.00', '2026-01-01', '2026-02-01', january,
                    Fraction(130)),
                # February is outside January
                ('130.00', '2026-02-01', '2026-03-01', january, 0),
                # a prepaid year: 31 of 365 days
                ('365.00', '2026-01-01', '2027-01-01', january,
                    Fraction(31)),
                # a prepaid term across the year end: 16 of 62 days
                ('62.00', '2025-12-16', '2026-02-16', january,
                    Fraction(31)),
                # half of the piece in the period
                ('10.00', '2026-01-25', '2026-02-04', january, Fraction(7)),
                # a one-day piece on the last day
                ('3.00', '2026-01-31', '2026-02-01', january, Fraction(3)),
                # an empty range counts whole when it starts in the period
                ('120.00', '2026-01-15', '2026-01-15', january,
                    Fraction(120)),
                ('120.00', '2026-02-01', '2026-02-01', january, 0),
                # negative amounts (a prepaid credit adjustment)
                ('-62.00', '2026-01-01', '2026-03-04', january,
                    Fraction(-31)),
                ]:
            with self.subTest(amount=amount, start=start, end=end):
                share = adjustment.period_share(
                    D(amount), d(start), d(end), *period)
                self.assertIsInstance(share, Fraction)
                self.assertEqual(share, expected)

    def test_period_share_invalid(self):
        with self.assertRaises(ValueError):
            adjustment.period_share(
                D(1), d('2026-02-01'), d('2026-01-01'),
                d('2026-01-01'), d('2026-02-01'))
        with self.assertRaises(TypeError):
            adjustment.period_share(
                1.0, d('2026-01-01'), d('2026-02-01'),
                d('2026-01-01'), d('2026-02-01'))


class DistributeTestCase(unittest.TestCase):

    def test_distribute(self):
        for exacts, rounding, expected in [
                ([Fraction(1, 3)] * 3, CENT, ['0.34', '0.33', '0.33']),
                ([D('1.005'), D('1.005')], CENT, ['1.01', '1.00']),
                ([D('0.125')], CENT, ['0.12']),  # half even, once
                ([Fraction(-1, 3)] * 3, CENT, ['-0.33', '-0.33', '-0.34']),
                ([D('10.004'), D('-3.003')], CENT, ['10.00', '-3.00']),
                ([D('2.25'), D('2.25')], D('0.5'), ['2.5', '2.0']),
                ([], CENT, []),
                ([0, 0], CENT, ['0.00', '0.00']),
                ]:
            with self.subTest(exacts=exacts, rounding=rounding):
                parts = adjustment.distribute(exacts, rounding)
                self.assertEqual([str(p) for p in parts], expected)

    def test_distribute_rejects_float(self):
        with self.assertRaises(TypeError):
            adjustment.distribute([0.1], CENT)


class CompensationPartsTestCase(unittest.TestCase):

    def test_percentage_parts(self):
        for bases, rate, expected in [
                # 20 % of the January invoice of the monthly scenario
                ([Fraction('80.64')], D('0.2'), ['16.13']),
                # split over two tax groups, rounded once: 16.128 -> 16.13
                ([Fraction('45.16'), Fraction('35.48')], D('0.2'),
                    ['9.03', '7.10']),
                # 9.999 rounded once to 10.00: one part gets the cent
                ([Fraction(10)] * 3, D('0.3333'),
                    ['3.34', '3.33', '3.33']),
                ([Fraction(1)] * 3, D('0.5'), ['0.50', '0.50', '0.50']),
                # 0.015 rounds (half even) to 0.02
                ([Fraction('0.01')] * 3, D('0.5'), ['0.01', '0.01', '0.00']),
                ([Fraction(31)], D('1'), ['31.00']),
                ([Fraction('100.00'), Fraction('-20.00')], D('0.1'),
                    ['10.00', '-2.00']),
                ]:
            with self.subTest(bases=bases, rate=rate):
                parts = adjustment.percentage_parts(bases, rate, CENT)
                self.assertEqual([str(p) for p in parts], expected)

    def test_percentage_parts_invalid(self):
        for rate in [D(0), D('-0.1'), D('1.01')]:
            with self.subTest(rate=rate):
                with self.assertRaises(ValueError):
                    adjustment.percentage_parts([Fraction(1)], rate, CENT)
        with self.assertRaises(TypeError):
            adjustment.percentage_parts([Fraction(1)], 0.2, CENT)

    def test_proportional_parts(self):
        for amount, bases, expected in [
                ('10.00', [Fraction('80.64')], ['10.00']),
                ('10.00', [Fraction(1), Fraction(2)], ['3.33', '6.67']),
                ('10.00', [Fraction(1)] * 3, ['3.34', '3.33', '3.33']),
                ('30.00', [Fraction('45.16'), Fraction('35.48')],
                    ['16.80', '13.20']),
                ('8.00', [Fraction(100), Fraction(-20)], ['10.00', '-2.00']),
                ('0.00', [Fraction(1)], ['0.00']),
                ]:
            with self.subTest(amount=amount, bases=bases):
                parts = adjustment.proportional_parts(D(amount), bases, CENT)
                self.assertEqual([str(p) for p in parts], expected)
                self.assertEqual(sum(parts), D(amount))

    def test_proportional_parts_invalid(self):
        for amount, bases in [
                ('10.00', []),
                ('10.00', [Fraction(0)]),
                ('10.00', [Fraction(1), Fraction(-1)]),
                ('10.005', [Fraction(1)]),
                ]:
            with self.subTest(amount=amount, bases=bases):
                with self.assertRaises(ValueError):
                    adjustment.proportional_parts(D(amount), bases, CENT)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

class ServeRefundsTestCase(unittest.TestCase):

    def test_serve_refunds(self):
        january = BilledPiece(D('100.00'), d('2026-01-01'), d('2026-02-01'))
        # 15 + 16 days of January billed at different prices
        halves = [
            BilledPiece(D('30.00'), d('2026-01-01'), d('2026-01-16')),
            BilledPiece(D('64.00'), d('2026-01-16'), d('2026-02-01'))]
        jan = (d('2026-01-01'), d('2026-02-01'))
        first_half = (d('2026-01-01'), d('2026-01-16'))
        second_half = (d('2026-01-16'), d('2026-02-01'))
        for name, pieces, refunds, expected in [
                ("one refund is served as asked", [january],
                    [Refund(*jan, amount=D('40.00'))], ['40.00']),
                ("two refunds of the period: the second gets what is left",
                    [january],
                    [Refund(*jan, amount=D('80.00')),
                        Refund(*jan, amount=D('80.00'))],
                    ['80.00', '20.00']),
                ("two full refunds: the second gets nothing", [january],
                    [Refund(*jan, rate=D('1')), Refund(*jan, rate=D('1'))],
                    ['100.00', '0.00']),
                ("percentages: 60 % then 60 % of the same period",
                    [january],
                    [Refund(*jan, rate=D('0.6')), Refund(*jan, rate=D('0.6'))],
                    ['60.00', '40.00']),
                ("a refund already served is taken as it was", [january],
                    [Refund(*jan, served=D('90.00')),
                        Refund(*jan, amount=D('50.00'))],
                    ['90.00', '10.00']),
                ("a refund of other days leaves the period alone",
                    halves,
                    [Refund(*first_half, rate=D('1')),
                        Refund(*second_half, rate=D('1'))],
                    ['30.00', '64.00']),
                ("a refund of a few days, then of the whole period",
                    halves,
                    [Refund(*first_half, rate=D('1')),
                        Refund(*jan, amount=D('94.00'))],
                    ['30.00', '64.00']),
                ("the whole period, then a few days: nothing left", halves,
                    [Refund(*jan, rate=D('1')),
                        Refund(*second_half, rate=D('1'))],
                    ['94.00', '0.00']),
                ("half of the whole period, then the second half",
                    halves,
                    [Refund(*jan, amount=D('47.00')),
                        Refund(*second_half, rate=D('1')),
                        Refund(*first_half, rate=D('1'))],
                    ['47.00', '32.00', '15.00']),
                ("a partial period share is rounded once",
                    [january],
                    [Refund(d('2026-01-01'), d('2026-01-11'), rate=D('1'))],
                    ['32.26']),
                ("a piece billed on one day", [BilledPiece(
                            D('12.00'), d('2026-01-05'), d('2026-01-05'))],
                    [Refund(*jan, rate=D('0.5')), Refund(*jan, rate=D('1'))],
                    ['6.00', '6.00']),
                ("nothing billed: nothing served", [],
                    [Refund(*jan, amount=D('10.00'))], ['0.00']),
                ]:
            with self.subTest(name):
                served = adjustment.serve_refunds(pieces, refunds, CENT)
                self.assertEqual([str(s) for s in served], expected)

    def test_serve_refunds_invalid(self):
        with self.assertRaises(ValueError):
            adjustment.serve_refunds([], [Refund(
                        d('2026-02-01'), d('2026-01-01'), rate=D('1'))],
                CENT)
        with self.assertRaises(TypeError):
            adjustment.serve_refunds([BilledPiece(
                        1.5, d('2026-01-01'), d('2026-02-01'))],
                [], CENT)


ROUNDINGS = st.sampled_from([D('0.01'), D('0.05'), D('1'), D('0.001')])
UNITS = st.integers(min_value=0, max_value=10 ** 6)


@st.composite
def credits_and_invoices(draw):
    rounding = draw(ROUNDINGS)
    scopes = ['s1', 's2', 's3']
    invoices = []
    for i in range(draw(st.integers(min_value=0, max_value=5))):
        total = draw(st.integers(min_value=-1000, max_value=10 ** 5))
        parts = {s: draw(UNITS) * rounding
            for s in draw(st.sets(st.sampled_from(scopes)))}
        invoices.append(InvoiceCapacity(i, total * rounding, parts))
    credits = [
        CreditBalance(c, draw(UNITS) * rounding,
            draw(st.one_of(st.none(), st.sampled_from(scopes))))
        for c in range(draw(st.integers(min_value=0, max_value=5)))]
    return credits, invoices, rounding


@st.composite
def billed_and_refunds(draw, same_period):
    "Non-negative billed pieces of a quarter and refunds of days in it"
    rounding = draw(ROUNDINGS)
    origin = dt.date(2026, 1, 1)

    def day_range():
        start = draw(st.integers(min_value=0, max_value=90))
        length = draw(st.integers(min_value=0, max_value=90 - start))
        return (origin + dt.timedelta(days=start),
            origin + dt.timedelta(days=start + length))
    pieces = [BilledPiece(draw(UNITS) * rounding, *day_range())
        for _ in range(draw(st.integers(min_value=0, max_value=5)))]
    period = day_range()
    refunds = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        start, end = period if same_period else day_range()
        if draw(st.booleans()):
            refund = Refund(start, end, amount=draw(UNITS) * rounding)
        else:
            refund = Refund(start, end, rate=D(draw(
                        st.integers(min_value=1, max_value=100))) / 100)
        refunds.append(refund)
    return pieces, refunds, rounding


class PropertyTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(credits_and_invoices())
    def test_allocate_credits(self, data):
        credits, invoices, rounding = data
        result, left = adjustment.allocate_credits(credits, invoices)
        applied = {c.credit: D(0) for c in credits}
        by_invoice = {i.invoice: D(0) for i in invoices}
        by_part = {}
        for allocation in result:
            self.assertIsInstance(allocation, Allocation)
            self.assertGreater(allocation.amount, 0)
            self.assertEqual(allocation.amount % rounding, 0)
            applied[allocation.credit] += allocation.amount
            by_invoice[allocation.invoice] += allocation.amount
            scope = credits[allocation.credit].scope
            if scope is not None:
                key = allocation.invoice, scope
                by_part[key] = by_part.get(key, D(0)) + allocation.amount
        for credit in credits:
            # applied + left = granted, and never more than the balance
            self.assertEqual(
                applied[credit.credit] + left[credit.credit], credit.amount)
            self.assertGreaterEqual(left[credit.credit], 0)
        for invoice in invoices:
            # never below zero
            self.assertLessEqual(
                by_invoice[invoice.invoice], max(invoice.total, 0))
            for scope, part in invoice.parts.items():
                self.assertLessEqual(
                    by_part.get((invoice.invoice, scope), 0), part)
        # a credit with something left has offset all it could
        total_left = {i.invoice: max(i.total, 0) - by_invoice[i.invoice]
            for i in invoices}
        for credit in credits:
            if not left[credit.credit]:
                continue
            for invoice in invoices:
                room = total_left[invoice.invoice]
                if credit.scope is not None:
                    room = min(room, invoice.parts.get(credit.scope, 0)
                        - by_part.get((invoice.invoice, credit.scope), 0))
                self.assertLessEqual(room, 0)
        # unrestricted credits only: everything that can be offset is
        if all(c.scope is None for c in credits):
            self.assertEqual(sum(by_invoice.values(), D(0)), min(
                    sum((c.amount for c in credits), D(0)),
                    sum((max(i.total, 0) for i in invoices), D(0))))

    @PROPERTY_SETTINGS
    @given(
        st.lists(
            st.fractions(min_value=-10 ** 5, max_value=10 ** 5,
                max_denominator=10 ** 4),
            max_size=12),
        ROUNDINGS)
    def test_distribute(self, exacts, rounding):
        parts = adjustment.distribute(exacts, rounding)
        self.assertEqual(len(parts), len(exacts))
        self.assertEqual(
            sum(parts, D(0)),
            adjustment.round_money(sum(exacts, Fraction(0)), rounding))
        for part, exact in zip(parts, exacts):
            self.assertEqual(part % rounding, 0)
            self.assertLess(abs(Fraction(part) - exact), Fraction(rounding))

    @PROPERTY_SETTINGS
    @given(
        st.lists(st.integers(min_value=0, max_value=10 ** 6),
            min_size=1, max_size=10),
        st.decimals(min_value=D('0.0001'), max_value=1, places=4,
            allow_nan=False, allow_infinity=False),
        ROUNDINGS)
    def test_percentage_parts(self, units, rate, rounding):
        bases = [Fraction(u) * Fraction(rounding) for u in units]
        parts = adjustment.percentage_parts(bases, rate, rounding)
        # the parts sum exactly to the total, rounded once
        self.assertEqual(sum(parts), adjustment.round_money(
                sum(bases, Fraction(0)) * Fraction(rate), rounding))
        for part, base in zip(parts, bases):
            # never more than the compensated amount
            self.assertGreaterEqual(part, 0)
            self.assertLessEqual(part, base)

    @PROPERTY_SETTINGS
    @given(
        st.integers(min_value=0, max_value=10 ** 6),
        st.lists(
            st.fractions(min_value=0, max_value=10 ** 5,
                max_denominator=100),
            min_size=1, max_size=10),
        ROUNDINGS)
    def test_proportional_parts(self, units, bases, rounding):
        if not sum(bases):
            bases = bases + [Fraction(1)]
        amount = units * rounding
        parts = adjustment.proportional_parts(amount, bases, rounding)
        self.assertEqual(sum(parts), amount)
        base_sum = sum(bases)
        for part, base in zip(parts, bases):
            exact = Fraction(amount) * base / base_sum
            self.assertLess(abs(Fraction(part) - exact), Fraction(rounding))
            if not base:
                self.assertEqual(part, 0)

    @PROPERTY_SETTINGS
    @given(
        st.dates(min_value=dt.date(2020, 1, 1),
            max_value=dt.date(2030, 12, 31)),
        st.lists(st.integers(min_value=1, max_value=100), min_size=1,
            max_size=6),
        st.integers(min_value=1, max_value=400),
        st.integers(min_value=-10 ** 6, max_value=10 ** 6))
    def test_period_share_is_additive(self, start, cuts, length, cents):
        "The shares of consecutive periods add up to the whole amount."
        amount = D(cents) * CENT
        end = start + dt.timedelta(days=length)
        bounds = [start - dt.timedelta(days=1)]
        for cut in cuts:
            bounds.append(bounds[-1] + dt.timedelta(days=cut))
        bounds[-1] = max(bounds[-1], end + dt.timedelta(days=1))
        shares = [adjustment.period_share(amount, start, end, s, e)
            for s, e in zip(bounds[:-1], bounds[1:])]
        self.assertEqual(sum(shares), Fraction(amount))


    def test_refunds_of_a_period_rounded_up_twice(self):
        """Two refunds of the same days whose room rounds up each time:
        the second is capped by the rounded gross less the first (found by
        the property below)"""
        month = (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
        days = (dt.date(2026, 1, 1), dt.date(2026, 1, 6))
        # 0.63 over 30 days: 0.105 over the 5 days, 0.10 rounded
        pieces = [BilledPiece(D('0.63'), *month)]
        refunds = [Refund(*days, rate=D('0.05')),
            Refund(*days, amount=D('0.10'))]
        self.assertEqual(
            adjustment.serve_refunds(pieces, refunds, CENT),
            [D('0.01'), D('0.09')])

    @PROPERTY_SETTINGS
    @given(billed_and_refunds(same_period=True))
    def test_refunds_of_a_period_never_exceed_the_gross(self, data):
        "Several compensations of one period: their sum is capped."
        pieces, refunds, rounding = data
        served = adjustment.serve_refunds(pieces, refunds, rounding)
        start, end = refunds[0].start, refunds[0].end
        gross = sum((adjustment.period_share(
                        p.amount, p.start, p.end, start, end)
                    for p in pieces), Fraction(0))
        self.assertLessEqual(sum(served), round_money(gross, rounding))
        self.assertTrue(all(s >= 0 for s in served))
        self.assert_first_served(pieces, refunds, served, rounding)

    @PROPERTY_SETTINGS
    @given(billed_and_refunds(same_period=False))
    def test_refunds_never_exceed_the_gross(self, data):
        "Over any periods, the sum is capped by the gross of their days."
        pieces, refunds, rounding = data
        served = adjustment.serve_refunds(pieces, refunds, rounding)
        start = min(r.start for r in refunds)
        end = max(r.end for r in refunds)
        days = {start + dt.timedelta(days=i)
            for r in refunds for i in range(
                (r.start - start).days, (r.end - start).days)}
        gross = sum((adjustment.period_share(
                        p.amount, p.start, p.end, day,
                        day + dt.timedelta(days=1))
                    for p in pieces for day in days), Fraction(0))
        slack = Fraction(rounding) / 2 * len(refunds)
        self.assertLessEqual(sum(served), gross + slack)
        self.assertTrue(all(s >= 0 for s in served))
        self.assert_first_served(pieces, refunds, served, rounding)

    def assert_first_served(self, pieces, refunds, served, rounding):
        "The first refund gets what it asks, up to the gross of its days"
        first = refunds[0]
        gross = sum((adjustment.period_share(
                        p.amount, p.start, p.end, first.start, first.end)
                    for p in pieces), Fraction(0))
        asked = (first.amount if first.rate is None
            else Fraction(first.rate) * gross)
        self.assertEqual(served[0], min(round_money(asked, rounding),
                round_money(gross, rounding)))


if __name__ == '__main__':
    unittest.main()
