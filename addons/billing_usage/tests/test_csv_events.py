# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Reading a CSV file of usage events (csv_events.py), in milliseconds"""
import datetime as dt
import json
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from billing_usage.csv_events import (
    MAX_FILE_SIZE, MAX_ROWS, FileError, cell_value, read_file)
from billing_usage.payload import EventInputError, read_event

HEADER = 'transaction_id,subscription,metric,timestamp'


def file_code(data, delimiter=','):
    try:
        read_file(data, delimiter)
    except FileError as error:
        return error.code
    return None


class ReadFileTestCase(unittest.TestCase):

    def test_columns(self):
        "Required columns as they are, properties from JSON and prop. cells"
        data = (HEADER + ',properties,prop.flavor,prop.gib\r\n'
            'tx-1,SUB1,api_calls,2026-03-02T10:00:00Z,"{""region"": ""eu""}",'
            'm1.small,2.5\r\n'
            '\r\n'
            'tx-2,SUB1,api_calls,2026-03-02 11:00:00,,,\r\n').encode()
        self.assertEqual(read_file(data), [
                (2, 'tx-1', {'transaction_id': 'tx-1', 'subscription': 'SUB1',
                        'metric': 'api_calls',
                        'timestamp': '2026-03-02T10:00:00Z',
                        'properties': {'region': 'eu', 'flavor': 'm1.small',
                            'gib': Decimal('2.5')}}),
                (4, 'tx-2', {'transaction_id': 'tx-2', 'subscription': 'SUB1',
                        'metric': 'api_calls',
                        'timestamp': '2026-03-02 11:00:00',
                        'properties': {}}),
                ])

    def test_items_read_as_events(self):
        "The items are those ingest reads (payload.read_event)"
        data = ('\ufeff' + HEADER + ',prop.gib\n'
            'tx-1,SUB1,storage,2026-03-02T10:00:00+02:00,1e3\n').encode()
        (line, _, item), = read_file(data)
        self.assertEqual(read_event(item), {
                'transaction_id': 'tx-1', 'subscription': 'SUB1',
                'metric': 'storage',
                'timestamp': dt.datetime(2026, 3, 2, 8, 0),
                'properties': {'gib': 1000}})

    def test_end(self):
        "An end column gives a usage record over [timestamp, end)"
        data = (HEADER + ',end\n'
            'tx-1,SUB1,storage,2026-03-02T10:00:00Z,2026-03-02T12:00:00Z\n'
            'tx-2,SUB1,storage,2026-03-02T10:00:00Z,\n').encode()
        (_, _, ranged), (_, _, instant) = read_file(data)
        self.assertEqual(read_event(ranged)['end'],
            dt.datetime(2026, 3, 2, 12, 0))
        self.assertNotIn('end', read_event(instant))

    def test_delimiters(self):
        data = 'metric;timestamp;transaction_id;subscription\n' \
            'm;2026-03-02;t;s\n'
        (_, _, item), = read_file(data.encode(), ';')
        self.assertEqual(item['transaction_id'], 't')
        (_, _, item), = read_file(data.replace(';', '\t').encode(), '\t')
        self.assertEqual(item['metric'], 'm')

    def test_cell_values(self):
        "Numbers as JSON writes them become numbers, anything else is text"
        cases = [
            ('12', 12), ('-3', -3), ('0', 0), ('2.50', Decimal('2.50')),
            ('1E+3', Decimal('1E+3')), ('1,5', '1,5'), (' 2', ' 2'),
            ('012', '012'), ('1.', '1.'), ('NaN', 'NaN'),
            ('Infinity', 'Infinity'), ('true', 'true'),
            ('m1.small', 'm1.small'), ('9' * 65, '9' * 65),
            ]
        for cell, expected in cases:
            with self.subTest(cell=cell):
                value = cell_value(cell)
                self.assertEqual(value, expected)
                self.assertEqual(type(value), type(expected))

    def test_file_refused(self):
        "A file that cannot be read at all names why"
        cases = [
            ('not bytes', 'text', 'file_empty'),
            ('empty', b'', 'file_empty'),
            ('header only', (HEADER + '\n\n').encode(), 'file_empty'),
            ('latin-1', (HEADER + '\nt,Zürich,m,2026-03-02\n').encode(
                    'latin-1'), 'file_encoding'),
            ('utf-16', (HEADER + '\nt,s,m,2026-03-02\n').encode('utf-16'),
                'file_encoding'),
            ('spreadsheet', b'PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00'
                b'\xb4\xfc\x12', 'file_encoding'),
            ('NUL', (HEADER + '\nt\x00,s,m,2026-03-02\n').encode(),
                'file_nul'),
            ('quote not closed', (HEADER + '\n"t,s,m,2026-03-02\n').encode(),
                'file_csv'),
            ('text after a quote', (HEADER + '\n"t"x,s,m,d\n').encode(),
                'file_csv'),
            ('cell too long', (HEADER + '\n"' + 'x' * 200_000
                    + '",s,m,d\n').encode(), 'file_csv'),
            ('missing column', b'transaction_id,subscription,metric\nt,s,m\n',
                'file_column_missing'),
            ('unknown column', (HEADER + ',quantity\nt,s,m,d,1\n').encode(),
                'file_column_unknown'),
            ('prop. without name', (HEADER + ',prop.\nt,s,m,d,1\n').encode(),
                'file_column_unknown'),
            ('column twice', (HEADER + ',metric\nt,s,m,d,m\n').encode(),
                'file_column_twice'),
            ('too large', b'x' * (MAX_FILE_SIZE + 1), 'file_size'),
            ('too many', (HEADER + '\n' + 't,s,m,d\n' * (MAX_ROWS + 1)
                    ).encode(), 'file_too_many'),
            ('too many blank lines', (HEADER + '\n' + ',,,\n' * (
                        MAX_ROWS + 1) + 't,s,m,d\n').encode(),
                'file_too_many'),
            ]
        for name, data, code in cases:
            with self.subTest(name=name):
                self.assertEqual(file_code(data), code)

    def test_error_positions(self):
        "The byte of the encoding error and the line of the CSV error"
        with self.assertRaises(FileError) as raised:
            read_file(b'ab\xe9c')
        self.assertEqual(raised.exception.params, {'position': 3})
        with self.assertRaises(FileError) as raised:
            read_file((HEADER + '\nt,s,m,d\n"t"x,s,m,d\n').encode())
        self.assertEqual(raised.exception.params, {'line': 3})

    def test_limits_included(self):
        "MAX_ROWS events are read; a line ending or blank lines do not count"
        data = (HEADER + '\n' + 't,s,m,d\n' * MAX_ROWS + '\n\n').encode()
        self.assertEqual(len(read_file(data)), MAX_ROWS)

    def test_record_refused(self):
        "A record that cannot be an event is refused alone, with its line"
        data = (HEADER + ',properties,prop.gib\n'
            't1,s,m,d,,\n'
            't2,s,m,d\n'
            't3,s,m,d,"{""gib"": NaN}",\n'
            't4,s,m,d,[1],\n'
            't5,s,m,d,"{""gib"": 1}",2\n'
            '"t6\nnext",s,m,d,{broken,\n'
            't7,s,m,d,,\n').encode()
        records = read_file(data)
        self.assertEqual([(line, tx) for line, tx, _ in records], [
                (2, 't1'), (3, 't2'), (4, 't3'), (5, 't4'), (6, 't5'),
                (7, 't6\nnext'), (9, 't7')])
        codes = [item.code if isinstance(item, EventInputError) else None
            for _, _, item in records]
        self.assertEqual(codes, [None, 'csv_cells', 'csv_properties',
                'properties_type', 'csv_property_twice', 'csv_properties',
                None])
        self.assertEqual(records[1][2].params, {'count': 4, 'expected': 6})

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(
                lambda t: (HEADER + ',properties,prop.x\n' + t).encode())),
        st.sampled_from([',', ';', '\t']))
    def test_any_bytes(self, data, delimiter):
        "Any file is read or refused with a code, never another exception"
        try:
            records = read_file(data, delimiter)
        except FileError as error:
            self.assertTrue(error.code.startswith('file_'))
            return
        for line, _, item in records:
            self.assertGreaterEqual(line, 2)
            if isinstance(item, dict):
                self.assertEqual(set(item), {'transaction_id',
                        'subscription', 'metric', 'timestamp', 'properties'})
                # ingest reads it or refuses it with a code
                try:
                    read_event(item)
                except EventInputError as error:
                    self.assertTrue(error.code)
            else:
                self.assertIsInstance(item, EventInputError)

    @settings(max_examples=100, deadline=None)
    @given(st.dictionaries(
            st.text(st.characters(blacklist_categories=('Cs',),
                    blacklist_characters='\x00'), min_size=1, max_size=10),
            st.one_of(st.integers(-10 ** 6, 10 ** 6), st.booleans(),
                st.text(st.characters(blacklist_categories=('Cs',),
                        blacklist_characters='\x00'), max_size=20)),
            max_size=5))
    def test_properties_round_trip(self, properties):
        "A properties object written by json.dumps reads back the same"
        import csv
        import io
        output = io.StringIO()
        writer = csv.writer(output)
        writer.writerow(HEADER.split(',') + ['properties'])
        writer.writerow(['t', 's', 'm', 'd', json.dumps(properties)])
        (_, _, item), = read_file(output.getvalue().encode())
        self.assertEqual(item['properties'], properties)
