# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the catalog document check (cloud_pricing.catalog_document).

Pure Python: no database.
"""
import copy
import json
import pathlib
import sys
import unittest
from decimal import Decimal

try:
    import cloud_pricing  # noqa: F401
except ImportError:
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))
from cloud_pricing.catalog_document import (
    SECTIONS, CatalogError, read_catalog)

CATALOG = pathlib.Path(__file__).with_name('catalog.json')


def document():
    return json.loads(CATALOG.read_text())


class CatalogDocumentTestCase(unittest.TestCase):

    def refused(self, doc, code):
        data = doc if isinstance(doc, (bytes, str)) else json.dumps(doc)
        with self.assertRaises(CatalogError) as cm:
            read_catalog(data)
        self.assertEqual(cm.exception.code, code, str(cm.exception))
        return cm.exception

    def test_read(self):
        catalog = read_catalog(CATALOG.read_bytes())
        self.assertEqual(set(catalog), set(SECTIONS))
        plan = catalog['compute_plans'][
            ('nextcloud', 'exoscale', 'standard-8')]
        self.assertEqual(plan['monthly_price'], Decimal('80.00'))
        self.assertEqual(plan['proposed_storage_gib'], 50)
        self.assertIsNone(catalog['compute_plans'][
                ('redis', 'exoscale', 'standard-2')]['sort_order'])
        spec = catalog['component_specs'][('nextcloud', 'nextcloud')]
        self.assertEqual(spec['storage_fields'], (
                ('spec.parameters.size.disk', 'Data', 'ssd'),))
        self.assertIsNone(catalog['discount_brackets'][(4,)]['ram_to'])

    def test_numbers_as_json_numbers(self):
        "JSON numbers are read as Decimal, never float"
        data = CATALOG.read_text().replace('"80.00"', '80.00')
        plan = read_catalog(data)['compute_plans'][
            ('nextcloud', 'exoscale', 'standard-8')]
        self.assertEqual(plan['monthly_price'], Decimal('80.00'))
        self.assertIsInstance(plan['monthly_price'], Decimal)

    def test_not_json(self):
        for data in [b'', b'{', b'\xff', b'[]', b'{"a": NaN}', 'null',
                b'[' * 10000 + b']' * 10000]:
            with self.subTest(data=data[:10]):
                self.refused(data, 'json')

    def test_partial(self):
        doc = document()
        del doc['storage']
        error = self.refused(doc, 'partial')
        self.assertEqual(error.params, {'sections': 'storage'})
        doc = document()
        doc['sla_tiers'] = []
        self.refused(doc, 'partial')
        # CSP resources may be none
        doc = document()
        doc['csp_resources'] = []
        read_catalog(json.dumps(doc))

    def test_bad_entries(self):
        for section, index, name, value in [
                ('sla_tiers', 0, 'ha_replica_min', 0),
                ('sla_tiers', 0, 'uptime', '101'),
                ('service_pricing', 0, 'base_fee', '-1'),
                ('service_pricing', 0, 'base_fee', 'NaN'),
                ('service_pricing', 0, 'base_fee', 'Infinity'),
                ('service_pricing', 0, 'base_fee', '1e12'),
                ('service_pricing', 0, 'base_fee', True),
                ('service_pricing', 0, 'base_fee', '0.00001'),
                ('service_pricing', 0, 'service', ''),
                ('service_pricing', 0, 'service', 'a b'),
                ('compute_plans', 0, 'ram_gib', 0),
                ('compute_plans', 0, 'ram_gib', '8'),
                ('compute_plans', 0, 'ram_gib', 7.5),
                ('compute_plans', 0, 'unknown', 1),
                ('component_specs', 0, 'role', 'primary'),
                ('component_specs', 0, 'replicas_path', 'spec..instances'),
                ('component_specs', 0, 'storage_fields', [{'path': 'a'}]),
                ('csp_resources', 0, 'label', 'x' * 300),
                ]:
            with self.subTest(section=section, name=name, value=value):
                doc = document()
                doc[section][index][name] = value
                error = self.refused(doc, 'entry')
                self.assertEqual(error.params['field'], name)
                self.assertEqual(error.params['section'], section)

    def test_missing_field(self):
        doc = document()
        del doc['storage'][0]['product']
        error = self.refused(doc, 'entry')
        self.assertEqual(str(error), "storage[0]: no product")

    def test_duplicate(self):
        doc = document()
        doc['storage'].append(copy.deepcopy(doc['storage'][0]))
        error = self.refused(doc, 'duplicate')
        self.assertEqual(error.params, {
                'section': 'storage', 'key': 'exoscale/ssd'})

    def test_references(self):
        doc = document()
        doc['sla_surcharges'][0]['sla'] = 'platinum'
        self.assertEqual(self.refused(doc, 'reference').params['target'],
            'platinum')
        doc = document()
        doc['compute_plans'][0]['service'] = 'mysql'
        self.refused(doc, 'reference')

    def test_one_main_component(self):
        doc = document()
        doc['component_specs'][1]['role'] = 'main'
        error = self.refused(doc, 'components')
        self.assertEqual(error.params, {'service': 'nextcloud', 'count': 2})

    def test_brackets(self):
        doc = document()
        doc['discount_brackets'][1]['ram_from'] = 4
        self.refused(doc, 'brackets')
        doc = document()
        doc['discount_brackets'][3]['ram_to'] = 32
        self.refused(doc, 'brackets')
