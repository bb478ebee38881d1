# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the price of an instance (cloud_pricing.pricing).

Pure Python: no database. The worked example is the one of
doc/pricing.rst; every amount is computed by hand in the comments.
"""
import json
import pathlib
import sys
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

try:
    import cloud_pricing  # noqa: F401
except ImportError:
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))
from cloud_pricing.pricing import (
    AnnotationItem, Bracket, Component, ComputePlan, CspResource,
    PricingError,
    ServicePricing, SlaSurcharge, SlaTier, StorageClass, StorageField,
    annotation_items, annotations, monthly_total, parse_spec, price_instance,
    replicas_of, spec_value, split_units, storage_gib, validate_brackets)

D = Decimal
CENT = D('0.01')
PROPERTY = settings(max_examples=150, deadline=None, database=None)

SERVICE = ServicePricing('nextcloud', D('50.00'), D('5.00'))
BESTEFFORT = SlaTier('besteffort', 1)
GUARANTEED = SlaTier('guaranteed', 2)
NO_SURCHARGE = SlaSurcharge(D('0'), D('0'), 0)
SURCHARGE = SlaSurcharge(D('30.00'), D('1.50'), 4)
PLAN = ComputePlan('standard-8', 8, D('80.00'), 'exo-compute-standard-8')
SMALL_PLAN = ComputePlan('standard-2', 2, D('20.00'), 'exo-compute-standard-2')
STORAGE = {'ssd': StorageClass('ssd', D('0.10'), 'exo-storage-ssd')}
BRACKETS = [
    Bracket(1, 0, 3, D('0')),
    Bracket(2, 3, 8, D('10')),
    Bracket(3, 8, 16, D('20')),
    Bracket(4, 16, None, D('30')),
    ]
MAIN = Component('nextcloud', 'main', 'spec.parameters.instances', (
        StorageField('spec.parameters.size.disk', "Data", 'ssd'),))
DATABASE = Component('postgres', 'supporting',
    'spec.parameters.postgres.instances', (
        StorageField('spec.parameters.postgres.disk', "Database", 'ssd'),))
IPV4 = CspResource('ipv4', "Public IPv4", D('1'), D('3.50'), 'exo-ipv4')


def make_spec(instances=2, disk='50Gi', pg_instances=1, pg_disk=20):
    return {'spec': {'parameters': {
                'instances': instances,
                'size': {'disk': disk},
                'postgres': {'instances': pg_instances, 'disk': pg_disk},
                }}}


def price(spec=None, sla=GUARANTEED, surcharge=SURCHARGE, plan=PLAN,
        components=(MAIN, DATABASE), csp=(IPV4,), brackets=BRACKETS,
        rounding=CENT):
    return price_instance(SERVICE, sla, surcharge, plan, list(components),
        STORAGE, brackets, list(csp),
        make_spec() if spec is None else spec, rounding, 'servala',
        group="nextcloud acme-cloud")


def table(lines):
    return [(l.kind, l.product, l.value, l.unit_price, l.amount)
        for l in lines]


class WorkedExampleTestCase(unittest.TestCase):
    "The example of doc/pricing.rst"

    def test_five_kinds(self):
        lines = price()
        self.assertEqual(table(lines), [
                # 2 replicas × 80.00; the database 1 × 80.00
                ('compute', 'exo-compute-standard-8', 2, D('80.00'),
                    D('160.00')),
                ('compute', 'exo-compute-standard-8', 1, D('80.00'),
                    D('80.00')),
                # 50 GiB × 2 replicas × 0.10; 20 GiB × 1 × 0.10
                ('storage', 'exo-storage-ssd', 100, D('0.10'), D('10.00')),
                ('storage', 'exo-storage-ssd', 20, D('0.10'), D('2.00')),
                ('csp', 'exo-ipv4', 1, D('3.50'), D('3.50')),
                # 50.00 + 30.00
                ('managed', 'servala-nextcloud-guaranteed-managed', 1,
                    D('80.00'), D('80.00')),
                # 8 GiB: 3 in b1, 5 in b2; × 2 main replicas;
                # rate 5.00 + 1.50 = 6.50, b2 at -10 % = 5.85
                ('sizing', 'servala-nextcloud-guaranteed-managed-b1', 6,
                    D('6.50'), D('39.00')),
                ('sizing', 'servala-nextcloud-guaranteed-managed-b2', 10,
                    D('5.850'), D('58.50')),
                ])
        self.assertEqual(monthly_total(lines), D('433.00'))
        self.assertEqual([l.description for l in lines[:3]], [
                "Compute standard-8 (nextcloud)",
                "Compute standard-8 (postgres)",
                "Data (nextcloud)"])
        self.assertEqual({l.group for l in lines}, {"nextcloud acme-cloud"})

    def test_no_sla(self):
        "Best effort: no surcharge, one replica is enough"
        lines = price(make_spec(instances=1), sla=BESTEFFORT,
            surcharge=NO_SURCHARGE, components=[MAIN], csp=[])
        self.assertEqual(table(lines), [
                ('compute', 'exo-compute-standard-8', 1, D('80.00'),
                    D('80.00')),
                ('storage', 'exo-storage-ssd', 50, D('0.10'), D('5.00')),
                ('managed', 'servala-nextcloud-besteffort-managed', 1,
                    D('50.00'), D('50.00')),
                ('sizing', 'servala-nextcloud-besteffort-managed-b1', 3,
                    D('5.00'), D('15.00')),
                ('sizing', 'servala-nextcloud-besteffort-managed-b2', 5,
                    D('4.500'), D('22.50')),
                ])

    def test_annotations(self):
        "The seed's JSON array"
        lines = price()
        items = json.loads(annotation_items(lines))
        self.assertEqual(items[0], {
                'productID': 'exo-compute-standard-8', 'value': 2,
                'itemDescription': "Compute standard-8 (nextcloud)",
                'itemGroupDescription': "nextcloud acme-cloud"})
        self.assertEqual(len(items), 8)

    def test_annotations_sales_order(self):
        "The seed's two resource annotations: the items and the sale order"
        lines = price()
        result = annotations(lines, 'SO-7')
        self.assertEqual(sorted(result), [
                'billing.servala.com/items',
                'billing.servala.com/salesOrderID'])
        self.assertEqual(result['billing.servala.com/salesOrderID'], 'SO-7')
        self.assertEqual(result['billing.servala.com/items'],
            annotation_items(lines))
        self.assertEqual(
            json.loads(result['billing.servala.com/items'])[-1], {
                'productID': 'servala-nextcloud-guaranteed-managed-b2',
                'value': 10,
                'itemDescription': "Managed sizing nextcloud (guaranteed) b2",
                'itemGroupDescription': "nextcloud acme-cloud"})

    def test_annotations_table(self):
        "(sale order, domain, items) → the annotations"
        item = AnnotationItem('exo-ipv4', D('1.0'), "Public IPv4", 'acme')
        half = AnnotationItem('exo-egress', D('2.50'), "Egress", '')
        one = '[{"productID":"exo-ipv4","value":1,' \
            '"itemDescription":"Public IPv4","itemGroupDescription":"acme"}]'
        for sale, domain, items, expected in [
                ('SO-1', None, [item], {
                        'billing.servala.com/items': one,
                        'billing.servala.com/salesOrderID': 'SO-1'}),
                # no organization: no sale order key, never an empty one
                (None, None, [item], {'billing.servala.com/items': one}),
                ('', None, [item], {'billing.servala.com/items': one}),
                # a number as reference is written as text
                (42, None, [], {'billing.servala.com/items': '[]',
                        'billing.servala.com/salesOrderID': '42'}),
                ('SO-2', 'billing.example.org', [half], {
                        'billing.example.org/items': '[{"productID":'
                        '"exo-egress","value":"2.50","itemDescription":'
                        '"Egress","itemGroupDescription":""}]',
                        'billing.example.org/salesOrderID': 'SO-2'}),
                ]:
            with self.subTest(sale=sale, domain=domain):
                args = {} if domain is None else {'domain': domain}
                self.assertEqual(annotations(items, sale, **args), expected)


class BracketTestCase(unittest.TestCase):

    def test_split_table(self):
        "(RAM, [(bracket, units)]) at, below and across the boundaries"
        for ram, expected in [
                (0, []),
                (1, [(1, 1)]),
                (3, [(1, 3)]),
                (4, [(1, 3), (2, 1)]),
                (8, [(1, 3), (2, 5)]),
                (9, [(1, 3), (2, 5), (3, 1)]),
                (16, [(1, 3), (2, 5), (3, 8)]),
                (64, [(1, 3), (2, 5), (3, 8), (4, 48)]),
                ]:
            with self.subTest(ram=ram):
                self.assertEqual(
                    [(b.number, u) for b, u in split_units(ram, BRACKETS)],
                    expected)

    def test_invalid_brackets(self):
        for brackets in [
                [],
                [Bracket(1, 1, None, D(0))],  # not from 0
                [Bracket(1, 0, 3, D(0)), Bracket(2, 4, None, D(0))],  # gap
                [Bracket(1, 0, 3, D(0)), Bracket(2, 3, 8, D(0))],  # closed
                [Bracket(1, 0, None, D(0)), Bracket(2, 3, None, D(0))],
                [Bracket(1, 0, 3, D(0)), Bracket(1, 3, None, D(0))],  # twice
                [Bracket(1, 0, None, D(101))],
                [Bracket(1, 0, 0, D(0)), Bracket(2, 0, None, D(0))],
                ]:
            with self.subTest(brackets=brackets):
                with self.assertRaises(PricingError) as cm:
                    validate_brackets(brackets)
                self.assertEqual(cm.exception.code, 'brackets')

    def test_float_refused(self):
        with self.assertRaises(TypeError):
            validate_brackets([Bracket(1, 0, None, 0.5)])

    def test_rate_rounded_to_price_digits(self):
        "0.35 at -12.5 % is 0.30625: the unit price 0.3062 (half even)"
        service = ServicePricing('s', D('0'), D('0.35'))
        lines = price_instance(service, BESTEFFORT, NO_SURCHARGE,
            ComputePlan('p', 3, D('0'), 'p'), [
                Component('s', 'main', 'n')], {},
            [Bracket(7, 0, None, D('12.5'))], [], {'n': 1}, CENT, 'x')
        sizing, = [l for l in lines if l.kind == 'sizing']
        self.assertEqual((sizing.value, sizing.unit_price, sizing.amount),
            (3, D('0.3062'), D('0.92')))
        self.assertEqual(sizing.product, 'x-s-besteffort-managed-b7')

    def test_full_discount(self):
        lines = price(brackets=[Bracket(1, 0, None, D('100'))])
        sizing, = [l for l in lines if l.kind == 'sizing']
        self.assertEqual((sizing.value, sizing.amount), (16, D('0.00')))

    def test_currency_rounding(self):
        "A currency rounded to 0.05 rounds each line once"
        lines = price(brackets=[Bracket(1, 0, None, D('12.5'))],
            rounding=D('0.05'))
        sizing, = [l for l in lines if l.kind == 'sizing']
        # 16 × 5.6875 = 91.00
        self.assertEqual((sizing.unit_price, sizing.amount),
            (D('5.6875'), D('91.00')))


class SpecTestCase(unittest.TestCase):

    def test_missing_replicas_path(self):
        spec = {'spec': {'params': {}}}
        with self.assertRaises(PricingError) as cm:
            replicas_of(spec, MAIN)
        self.assertEqual(cm.exception.code, 'spec_path')
        self.assertEqual(cm.exception.params, {
                'path': 'spec.parameters.instances', 'key': 'parameters'})
        self.assertEqual(str(cm.exception),
            "the spec has no 'parameters' along 'spec.parameters.instances'")

    def test_path_through_a_value(self):
        with self.assertRaises(PricingError) as cm:
            spec_value({'spec': 3}, 'spec.parameters')
        self.assertEqual(cm.exception.params['key'], 'parameters')

    def test_bad_replicas(self):
        for value in [0, -1, 1001, True, '2', D('2'), 2.0, None, [2]]:
            with self.subTest(value=value):
                with self.assertRaises(PricingError) as cm:
                    replicas_of(make_spec(instances=value), MAIN)
                self.assertEqual(cm.exception.code, 'replicas')

    def test_storage_values(self):
        field = MAIN.storage_fields[0]
        for value, gib in [(0, 0), (50, 50), ('50Gi', 50), ('2Ti', 2048)]:
            self.assertEqual(storage_gib(make_spec(disk=value), field), gib)
        for value in ['50', '50G', '-1Gi', '1.5Gi', 1.5, True, -1, 10 ** 8,
                '٣Gi', None]:
            with self.subTest(value=value):
                with self.assertRaises(PricingError) as cm:
                    storage_gib(make_spec(disk=value), field)
                self.assertEqual(cm.exception.code, 'storage')

    def test_zero_storage_no_line(self):
        lines = price(make_spec(disk=0, pg_disk=0))
        self.assertEqual([l for l in lines if l.kind == 'storage'], [])

    def test_spec_json(self):
        self.assertEqual(parse_spec('{"a": 1.5}'), {'a': D('1.5')})
        for text in ['[]', 'nope', '{"a": NaN}', '{"a": Infinity}', 3,
                '{' * 100000 + '}' * 100000, '[' * 5000 + ']' * 5000]:
            with self.subTest(text=str(text)[:20]):
                with self.assertRaises(PricingError) as cm:
                    parse_spec(text)
                self.assertEqual(cm.exception.code, 'spec_json')

    def test_ha_minimum(self):
        with self.assertRaises(PricingError) as cm:
            price(make_spec(instances=1))
        self.assertEqual(cm.exception.code, 'ha_minimum')
        self.assertEqual(cm.exception.params, {
                'replicas': 1, 'minimum': 2, 'sla': 'guaranteed'})

    def test_minimum_units(self):
        "Never up-charged to the minimum: refused"
        with self.assertRaises(PricingError) as cm:
            price(plan=SMALL_PLAN)
        self.assertEqual(cm.exception.code, 'minimum_units')
        # At the minimum exactly it is accepted
        plan = ComputePlan('standard-4', 4, D('40.00'), 'p4')
        self.assertTrue(price(plan=plan))

    def test_unknown_storage_class(self):
        component = Component('nextcloud', 'main',
            'spec.parameters.instances', (
                StorageField('spec.parameters.size.disk', "Data", 'hdd'),))
        with self.assertRaises(PricingError) as cm:
            price(components=[component])
        self.assertEqual(cm.exception.params, {'storage_class': 'hdd'})

    def test_one_main(self):
        for components in [[DATABASE], [MAIN, MAIN]]:
            with self.assertRaises(PricingError) as cm:
                price(components=components)
            self.assertEqual(cm.exception.code, 'components')


def _brackets(bounds, discounts):
    "Contiguous brackets from sorted distinct positive bounds"
    starts = [0] + bounds
    ends = bounds + [None]
    return [Bracket(i + 1, s, e, d)
        for i, (s, e, d) in enumerate(zip(starts, ends, discounts))]


BRACKETS_ST = st.lists(
    st.integers(min_value=1, max_value=256), max_size=6, unique=True).map(
    sorted).flatmap(lambda bounds: st.lists(
        st.decimals(min_value=0, max_value=100, places=2, allow_nan=False,
            allow_infinity=False),
        min_size=len(bounds) + 1, max_size=len(bounds) + 1).map(
        lambda discounts: _brackets(bounds, discounts)))


class PropertyTestCase(unittest.TestCase):

    @PROPERTY
    @given(BRACKETS_ST, st.integers(min_value=0, max_value=1024))
    def test_split_sums_to_units(self, brackets, ram):
        parts = split_units(ram, brackets)
        self.assertEqual(sum(u for _, u in parts), ram)
        self.assertTrue(all(u > 0 for _, u in parts))
        numbers = [b.number for b, _ in parts]
        self.assertEqual(numbers, sorted(numbers))

    @PROPERTY
    @given(BRACKETS_ST, st.integers(min_value=4, max_value=1024),
        st.integers(min_value=2, max_value=20),
        st.integers(min_value=1, max_value=5),
        st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False,
            allow_infinity=False))
    def test_sizing_values(self, brackets, ram, replicas, pg, rate):
        "The sizing values add up to the plan's RAM × main replicas"
        service = ServicePricing('nextcloud', D('50'), rate)
        plan = ComputePlan('p', ram, D('10.00'), 'p')
        lines = price_instance(service, GUARANTEED, SURCHARGE, plan,
            [MAIN, DATABASE], STORAGE, brackets, [IPV4],
            make_spec(instances=replicas, pg_instances=pg), CENT, 'servala')
        sizing = [l for l in lines if l.kind == 'sizing']
        self.assertEqual(sum(l.value for l in sizing), ram * replicas)
        for line in lines:
            for value in (line.value, line.unit_price, line.amount):
                self.assertIsInstance(value, Decimal)
            # rounded once, to the cent
            self.assertEqual(line.amount, line.amount.quantize(CENT))
            self.assertLessEqual(abs(line.amount - line.value
                    * line.unit_price), CENT / 2)
        # Undiscounted, the sizing costs (rate + surcharge) × RAM × replicas
        if all(b.discount == 0 for b in brackets):
            self.assertEqual(sum(l.value * l.unit_price for l in sizing),
                (rate + D('1.50')) * ram * replicas)
