# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The configuration checklist as plain Python: a table of catalogs, each
point's verdict and items."""
import dataclasses
import datetime
import unittest
from decimal import Decimal

from cloud_pricing.readiness import (
    POINTS, BracketEntry, ComponentEntry, CspEntry, EntityEntry,
    OriginEntry, Plan, Pricing, ServiceCatalog, Storage, Surcharge, Tier,
    check, emitted_products, is_ready)
from cloud_pricing.tests.tools import NEXTCLOUD_PRODUCTS

NOW = datetime.datetime(2026, 3, 1, 12)
DAY = datetime.timedelta(hours=24)
SYNCED = NOW - datetime.timedelta(hours=1)
OLD = NOW - datetime.timedelta(hours=25)

PRODUCTS = frozenset(NEXTCLOUD_PRODUCTS)

# The nextcloud service of tests/catalog.json, complete
COMPLETE = ServiceCatalog(
    service='nextcloud', prefix='servala',
    tiers=(Tier('besteffort', SYNCED), Tier('guaranteed', SYNCED)),
    pricing=Pricing('USD', SYNCED),
    surcharges=(Surcharge('besteffort', 0, SYNCED),
        Surcharge('guaranteed', 4, SYNCED)),
    plans=(Plan('exoscale', 'standard-8', 8, 'exo-compute-standard-8',
            SYNCED),
        Plan('exoscale', 'standard-2', 2, 'exo-compute-standard-2',
            SYNCED)),
    storage=(Storage('exoscale', 'ssd', 'exo-storage-ssd', SYNCED),
        Storage('other', 'hdd', 'other-hdd', OLD)),
    brackets=(BracketEntry(1, 0, 3, Decimal(0), SYNCED),
        BracketEntry(2, 3, 8, Decimal(10), SYNCED),
        BracketEntry(3, 8, 16, Decimal(20), SYNCED),
        BracketEntry(4, 16, None, Decimal(30), SYNCED)),
    components=(ComponentEntry('nextcloud', 'main', ('ssd',), SYNCED),
        ComponentEntry('postgres', 'supporting', ('ssd',), SYNCED)),
    csp_resources=(CspEntry('exoscale', 'ipv4', 'exo-ipv4', SYNCED),),
    assignments=frozenset([('exoscale', 'standard-8'),
            ('exoscale', 'standard-2')]),
    origins=(OriginEntry('Direct', 'Acme Holding'),),
    entities=(EntityEntry('Acme Holding', True, True),),
    products=PRODUCTS,
    )


def failing(catalog, now=NOW):
    "{code: items} of the points that fail, and whether it is ready"
    points = check(catalog, now, DAY)
    return ({p.code: p.items for p in points if not p.ok},
        is_ready(points))


def change(**values):
    return dataclasses.replace(COMPLETE, **values)


class ReadinessTestCase(unittest.TestCase):

    def test_complete(self):
        points = check(COMPLETE, NOW, DAY)
        self.assertEqual([p.code for p in points], list(POINTS))
        self.assertEqual(failing(COMPLETE), ({}, True))
        csp, = [p for p in points if p.code == 'csp_resources']
        self.assertEqual((csp.items, csp.blocking), (('exoscale/ipv4',),
                False))

    def test_emitted_products(self):
        "Only the brackets a plan reaches, only tiers a plan can take"
        self.assertEqual(emitted_products(COMPLETE), sorted(PRODUCTS))
        # No plan has the 16 GiB a tier would need: no managed product
        catalog = change(surcharges=(Surcharge('besteffort', 0, SYNCED),
                Surcharge('guaranteed', 16, SYNCED)))
        self.assertNotIn('servala-nextcloud-guaranteed-managed',
            emitted_products(catalog))
        # A 20 GiB plan crosses into b4
        catalog = change(plans=COMPLETE.plans + (Plan('exoscale',
                    'large', 20, 'exo-compute-large', SYNCED),))
        self.assertIn('servala-nextcloud-guaranteed-managed-b4',
            emitted_products(catalog))
        self.assertIn('exo-compute-large', emitted_products(catalog))

    def test_table(self):
        "Each incomplete catalog fails its point with the items missing"
        table = [
            ("no tier", change(tiers=(), products=PRODUCTS), {
                    'sla_tiers': ()}),
            ("no pricing", change(pricing=None), {'service_pricing': ()}),
            ("no surcharge for a tier", change(
                    surcharges=(Surcharge('besteffort', 0, SYNCED),),
                    products=PRODUCTS), {
                    'sla_surcharges': ('guaranteed',)}),
            ("brackets with a gap", change(brackets=(
                        BracketEntry(1, 0, 3, Decimal(0), SYNCED),
                        BracketEntry(2, 4, None, Decimal(10), SYNCED))), {
                    'discount_brackets': ()}),
            ("no plan", change(plans=(), assignments=frozenset()), {
                    'compute_plans': ('exoscale',),
                    'plan_assignments': ()}),
            ("CSP resource on a provider without plans", change(
                    csp_resources=COMPLETE.csp_resources + (
                        CspEntry('other', 'ip', 'other-ip', SYNCED),),
                    products=PRODUCTS | {'other-ip'}), {
                    'compute_plans': ('other',)}),
            ("no storage class on the plans' provider", change(
                    storage=(Storage('other', 'ssd', 'o-ssd', SYNCED),)), {
                    'storage': ('exoscale/ssd',)}),
            ("no main component", change(components=(
                        ComponentEntry('postgres', 'supporting', ('ssd',),
                            SYNCED),)), {'component_specs': ()}),
            ("two main components", change(components=(
                        ComponentEntry('a', 'main', (), SYNCED),
                        ComponentEntry('b', 'main', (), SYNCED))), {
                    'component_specs': ('a', 'b')}),
            ("a stale plan", change(plans=(
                        Plan('exoscale', 'standard-8', 8,
                            'exo-compute-standard-8', OLD),
                        COMPLETE.plans[1])), {
                    'sync': ('cloud_pricing.compute_plan',)}),
            ("a plan never synced", change(plans=(
                        Plan('exoscale', 'standard-8', 8,
                            'exo-compute-standard-8', None),
                        COMPLETE.plans[1])), {
                    'sync': ('cloud_pricing.compute_plan',)}),
            ("a plan without assignment", change(
                    assignments=frozenset([('exoscale', 'standard-8')])), {
                    'plan_assignments': ('exoscale/standard-2',)}),
            ("no origin", change(origins=()), {'origin_defaults': ()}),
            ("an origin without billing entity", change(origins=(
                        OriginEntry('Direct', 'Acme Holding'),
                        OriginEntry('Marketplace', None))), {
                    'origin_defaults': ('Marketplace',)}),
            ("no billing entity", change(entities=()), {
                    'billing_entities': ()}),
            ("a billing entity without invoice address", change(entities=(
                        EntityEntry('Acme Holding', True, True),
                        EntityEntry('Beta', True, False),
                        EntityEntry('Gamma', False, True))), {
                    'billing_entities': ('Beta', 'Gamma')}),
            ("products missing", change(products=PRODUCTS - {
                        'exo-ipv4', 'servala-nextcloud-guaranteed-managed-b2'
                        }), {
                    'products': ('exo-ipv4',
                        'servala-nextcloud-guaranteed-managed-b2')}),
            ]
        for name, catalog, expected in table:
            with self.subTest(name):
                self.assertEqual(failing(catalog), (expected, False))

    def test_stale_boundary(self):
        "Fresh up to the age, stale past it; an unrelated provider ignored"
        # COMPLETE has an old storage entry on a provider without plans
        self.assertEqual(failing(COMPLETE, SYNCED + DAY), ({}, True))
        self.assertEqual(
            failing(COMPLETE, SYNCED + DAY + datetime.timedelta(seconds=1)),
            ({'sync': (
                        'cloud_pricing.sla_tier',
                        'cloud_pricing.service_pricing',
                        'cloud_pricing.sla_surcharge',
                        'cloud_pricing.discount_bracket',
                        'cloud_pricing.compute_plan',
                        'cloud_pricing.storage',
                        'cloud_pricing.component_spec',
                        'cloud_pricing.csp_resource')}, False))

    def test_never_synced(self):
        "An empty catalog fails every point but the CSP information"
        catalog = ServiceCatalog(service='redis', prefix='servala')
        points = check(catalog, NOW, DAY)
        self.assertEqual([p.code for p in points if p.ok],
            ['sla_surcharges', 'storage', 'csp_resources', 'products'])
        self.assertFalse(is_ready(points))

    def test_csp_not_blocking(self):
        "No CSP resource: informed, still ready"
        catalog = change(csp_resources=(),
            products=PRODUCTS - {'exo-ipv4'})
        points = check(catalog, NOW, DAY)
        csp, = [p for p in points if p.code == 'csp_resources']
        self.assertEqual((csp.ok, csp.items, csp.blocking), (True, (), False))
        self.assertTrue(is_ready(points))
