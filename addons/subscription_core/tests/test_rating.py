# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the rating factors of an invoice line (rating.py).

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import datetime as dt
import unittest
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from subscription_core import period, rating
from subscription_core.charge import Charge
from subscription_core.money import round_money

D = Decimal
CENT = D('0.01')


def d(text):
    return dt.date.fromisoformat(text)


class RatingTestCase(unittest.TestCase):

    def test_rating(self):
        jan, feb = d('2026-01-01'), d('2026-02-01')
        for name, charge, model, type_, price, expected, *per in [
                ("monthly piece: days over the days of the period",
                    Charge(jan, feb, d('2026-01-10'), d('2026-01-19'),
                        D(4), D('11.61')),
                    'monthly', 'limit', D(10), (D(4), Fraction(9, 31), D(10))),
                ("full period", Charge(jan, feb, jan, feb, D(1), D('50.00')),
                    'monthly', 'fixed', D(50), (D(1), Fraction(1), D(50))),
                ("prepaid term: its months",
                    Charge(d('2025-12-01'), d('2026-03-01'),
                        d('2025-12-01'), d('2026-03-01'), D(4), D('120.00')),
                    'prepaid', 'limit', D(10), (D(4), Fraction(3), D(10))),
                ("prepaid yearly term: one year at the yearly price",
                    Charge(d('2026-01-01'), d('2027-01-01'),
                        d('2026-01-01'), d('2027-01-01'), D(2), D('20.00')),
                    'prepaid', 'limit', D(10), (D(2), Fraction(1), D(10)),
                    'year'),
                ("prepaid supplement: the months left",
                    Charge(d('2026-01-16'), d('2026-03-01'),
                        d('2026-01-16'), d('2026-03-01'), D(4), D('60.65')),
                    'prepaid', 'limit', D(10),
                    (D(4), Fraction(16, 31) + 1, D(10))),
                ("usage: the quantity at the price",
                    Charge(jan, feb, jan, feb, D(1250), D('62.50')),
                    'monthly', 'usage', D('0.05'),
                    (D(1250), Fraction(1), D('0.05'))),
                ("usage in tiers: the average price",
                    Charge(jan, feb, jan, feb, D(1250), D('60.00')),
                    'monthly', 'usage', None,
                    (D(1250), Fraction(1), D('0.048'))),
                ("nothing consumed", Charge(jan, feb, jan, feb, D(0), D(0)),
                    'monthly', 'usage', None, (D(0), Fraction(1), D(0))),
                ("one time: the quantity at the price",
                    Charge(jan, d('2026-01-02'), jan, d('2026-01-02'), D(1),
                        D('120.00')),
                    'monthly', 'one_time', D(120),
                    (D(1), Fraction(1), D(120))),
                ]:
            with self.subTest(name):
                value = rating.rating(charge, model, type_, price,
                    period=per[0] if per else 'month')
                self.assertEqual(
                    (value.quantity, value.period_share, value.unit_price),
                    expected)

    def test_package(self):
        "Per package: the blocks billed at the price of a block"
        jan, feb = d('2026-01-01'), d('2026-02-01')
        for trace, amount, blocks in [
                (((1, D(1), D('5.00'), None), (2, D(0), D('5.00'), None),
                        (3, D(2), D('5.00'), None)), D('15.00'), D(3)),
                (((1, D(0), D('5.00'), None),), D('0.00'), D(0)),
                ]:
            with self.subTest(trace=trace):
                charge = Charge(jan, feb, jan, feb, D(2500), amount,
                    trace=trace)
                value = rating.rating(charge, 'monthly', 'usage', D('5.00'),
                    package=True)
                self.assertEqual(
                    (value.quantity, value.period_share, value.unit_price),
                    (blocks, Fraction(1), D('5.00')))
                self.assertEqual(
                    value.quantity * value.unit_price, amount)

    def test_decimal_share(self):
        self.assertEqual(
            rating.decimal_share(Fraction(9, 31)), D('0.2903225806'))
        self.assertEqual(rating.decimal_share(Fraction(3)), D('3'))

    @settings(max_examples=150, deadline=None, database=None)
    @given(
        st.dates(min_value=dt.date(2020, 1, 1),
            max_value=dt.date(2030, 12, 31)),
        st.integers(min_value=1, max_value=400),
        st.integers(min_value=-100, max_value=10 ** 4),
        st.integers(min_value=0, max_value=10 ** 6),
        st.sampled_from(['monthly', 'prepaid']),
        st.sampled_from(['month', 'quarter', 'year']))
    def test_factors_give_the_amount(self, start, days, quantity, cents,
            model, billing_period):
        "quantity × share × unit price rounded once is the charge's amount"
        price = D(cents) / 10000
        quantity = D(quantity)
        end = start + dt.timedelta(days=days)
        if model == 'prepaid':
            amount = period.prepaid_amount(
                price, quantity, start, end, CENT, billing_period)
            charge = Charge(start, end, start, end, quantity, amount)
        else:
            p_start, p_end = period.period_bounds(start, billing_period)
            end = min(end, p_end)
            amount = period.prorated_amount(
                price, quantity, start, end, p_start, p_end, CENT)
            charge = Charge(p_start, p_end, start, end, quantity, amount)
        value = rating.rating(charge, model, 'limit', price,
            period=billing_period)
        self.assertEqual(round_money(
                Fraction(value.quantity) * value.period_share
                * Fraction(value.unit_price), CENT), amount)


if __name__ == '__main__':
    unittest.main()
