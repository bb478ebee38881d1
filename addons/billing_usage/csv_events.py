# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""A CSV file of usage events read as the event items of ingest, as plain
Python (no ORM).

The file is UTF-8 text (a byte order mark is skipped), one event per record
after a header record naming the columns:

* ``transaction_id``, ``subscription``, ``metric``, ``timestamp``: required,
  taken as they are (the checks are ingest's: ``payload.read_event``);
* ``properties``: optional, a JSON object (empty: no property);
* ``end``: optional, the end of a usage record over the range
  ``[timestamp, end)`` (empty: an event at an instant);
* ``prop.<name>``: optional, one column per property ``<name>``. An empty
  cell leaves the property out; a cell that reads as a JSON number
  (``12``, ``-0.5``, ``1e3``) is that number, any other is the text as it
  is. A property given both ways is refused.

Records with no text at all (blank lines, a spreadsheet's empty rows) are
skipped. ``read_file`` returns ``(line, transaction, item)`` for each record,
line being the line of the file where the record starts (the header is line
1 when it is the first line), transaction the text of its transaction_id
cell ('' if none), item the event item for ``ingest`` or the
``payload.EventInputError`` of a record that cannot be one (a wrong number
of cells, a malformed ``properties``). A file that cannot be read at all
raises ``FileError`` whose code names the rule: ``file_size``,
``file_encoding``, ``file_nul``, ``file_csv``, ``file_empty``,
``file_too_many``, ``file_column_missing``, ``file_column_unknown``,
``file_column_twice``.
"""
import csv
import io
import json
import re
from decimal import Decimal

from .payload import MAX_EVENTS, EventInputError, _short

__all__ = ['MAX_FILE_SIZE', 'MAX_ROWS', 'DELIMITERS', 'REQUIRED',
    'FileError', 'read_file', 'cell_value']

# As the HTTP route: 10,000 events of a few hundred bytes each
MAX_FILE_SIZE = 16 * 1024 * 1024
MAX_ROWS = MAX_EVENTS
DELIMITERS = {'comma': ',', 'semicolon': ';', 'tab': '\t'}
REQUIRED = ('transaction_id', 'subscription', 'metric', 'timestamp')
PROPERTIES = 'properties'
# The end of a usage record over a range [timestamp, end), optional
END = 'end'
PREFIX = 'prop.'
_NUMBER = re.compile(r'-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?')


class FileError(EventInputError):
    "A file that is not a CSV of usage events"


def read_file(data, delimiter=','):
    """The (line, transaction id cell, item or EventInputError) of each
    record of data (bytes)"""
    if not isinstance(data, (bytes, bytearray)):
        raise FileError('file_empty')
    if len(data) > MAX_FILE_SIZE:
        raise FileError('file_size', size=len(data), maximum=MAX_FILE_SIZE)
    try:
        text = bytes(data).decode('utf-8-sig')
    except UnicodeDecodeError as error:
        raise FileError('file_encoding', position=error.start + 1)
    if '\x00' in text:
        raise FileError('file_nul')
    reader = csv.reader(io.StringIO(text, newline=''),
        delimiter=delimiter, strict=True)
    header, records = None, []
    blank = 0
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            raise FileError('file_csv', line=line)
        if not any(cells):
            blank += 1
            if blank > MAX_ROWS:
                raise FileError('file_too_many', maximum=MAX_ROWS)
            continue
        if header is None:
            header = _header(cells)
            tx_index = header.index('transaction_id')
            continue
        if len(records) >= MAX_ROWS:
            raise FileError('file_too_many', maximum=MAX_ROWS)
        transaction = cells[tx_index] if tx_index < len(cells) else ''
        records.append((line, transaction, _item(header, cells)))
    if not records:
        raise FileError('file_empty')
    return records


def _header(cells):
    names = [c.strip() for c in cells]
    seen = set()
    for name in names:
        if name in seen:
            raise FileError('file_column_twice', column=_short(name))
        seen.add(name)
        if not (name in REQUIRED or name in {PROPERTIES, END}
                or (name.startswith(PREFIX) and len(name) > len(PREFIX))):
            raise FileError('file_column_unknown', column=_short(name))
    for name in REQUIRED:
        if name not in seen:
            raise FileError('file_column_missing', column=name)
    return names


def _item(header, cells):
    "The event item of a record, or the EventInputError that it is not one"
    if len(cells) != len(header):
        return EventInputError(
            'csv_cells', count=len(cells), expected=len(header))
    item = {'properties': {}}
    for name, cell in zip(header, cells):
        if name in REQUIRED:
            item[name] = cell
        elif name == END:
            if cell:
                item[END] = cell
        elif name == PROPERTIES:
            if cell:
                try:
                    item[PROPERTIES] = _json_object(cell)
                except EventInputError as error:
                    return error
    properties = item[PROPERTIES]
    if isinstance(properties, dict):
        for name, cell in zip(header, cells):
            if name.startswith(PREFIX) and cell:
                key = name[len(PREFIX):]
                if key in properties:
                    return EventInputError('csv_property_twice', key=key)
                properties[key] = cell_value(cell)
    return item


def _json_object(cell):
    try:
        value = json.loads(cell, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise EventInputError('csv_properties')
    if not isinstance(value, dict):
        raise EventInputError('properties_type')
    return value


def _refuse_constant(name):
    raise ValueError(name)


def cell_value(cell):
    "The value of a prop.<name> cell: a number when it reads as one"
    match = _NUMBER.fullmatch(cell) if len(cell) <= 64 else None
    if not match:
        return cell
    if match.group(1) is None and match.group(2) is None:
        return int(cell)
    return Decimal(cell)
