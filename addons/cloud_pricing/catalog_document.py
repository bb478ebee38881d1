# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The provider's catalog document, read and checked as plain Python.

``read_catalog(data)`` takes the bytes fetched from the catalog URL and
returns ``{section: {key: values}}`` for the eight sections of
``SECTIONS``, or raises ``CatalogError`` before anything is written: the
sync applies a document whole or not at all (doc/catalog.rst).

A document is refused when it is not JSON, misses a section (partial), has
an entry with a missing, unknown or out-of-range field, the same key twice,
a reference to a service or SLA tier it does not define, brackets that do
not cover the RAM from 0 GiB contiguously, or a service with other than one
main component. Numbers are read as Decimal (never float); NaN and Infinity
are refused.
"""
import json
from decimal import Decimal, InvalidOperation

from .pricing import (
    PRICE_DIGITS, ROLES, Bracket, PricingError, validate_brackets)

__all__ = ['SECTIONS', 'CatalogError', 'read_catalog', 'MAX_DOCUMENT_SIZE']

MAX_DOCUMENT_SIZE = 5_000_000
MAX_AMOUNT = Decimal(10) ** 9
MAX_COUNT = 10 ** 7
MAX_ENTRIES = 10_000

# section: (key fields, {field: type}); a type ending in '?' is optional
SECTIONS = {
    'sla_tiers': (('code',), {
            'code': 'code', 'name': 'text?', 'uptime': 'percent',
            'ha_replica_min': 'positive', 'service_level': 'code',
            }),
    'service_pricing': (('service',), {
            'service': 'code', 'base_fee': 'money', 'unit_rate': 'money',
            'currency': 'code',
            }),
    'sla_surcharges': (('service', 'sla'), {
            'service': 'code', 'sla': 'code', 'base_fee_surcharge': 'money',
            'unit_surcharge': 'money', 'minimum_units': 'count',
            }),
    'compute_plans': (('service', 'provider', 'plan'), {
            'service': 'code', 'provider': 'code', 'plan': 'code',
            'ram_gib': 'positive', 'vcpus': 'positive',
            'monthly_price': 'money', 'product': 'code',
            'sort_order': 'count?', 'proposed_storage_gib': 'count?',
            }),
    'storage': (('provider', 'storage_class'), {
            'provider': 'code', 'storage_class': 'code',
            'price_per_gib': 'money', 'product': 'code',
            }),
    'discount_brackets': (('number',), {
            'number': 'count', 'ram_from': 'count', 'ram_to': 'count?',
            'discount': 'percent',
            }),
    'component_specs': (('service', 'component'), {
            'service': 'code', 'component': 'code', 'role': 'role',
            'replicas_path': 'path', 'storage_fields': 'storage_fields',
            }),
    'csp_resources': (('service', 'provider', 'sku'), {
            'service': 'code', 'provider': 'code', 'sku': 'code',
            'label': 'text', 'quantity': 'money', 'monthly_price': 'money',
            'product': 'code',
            }),
    }
# Sections a catalog cannot do without: empty, they would deactivate every
# entry (a provider's export that went wrong, not a catalog).
REQUIRED_ENTRIES = {'sla_tiers', 'service_pricing', 'compute_plans',
    'storage', 'discount_brackets', 'component_specs'}


class CatalogError(ValueError):
    "A document the sync refuses; code names the rule, params the values"

    def __init__(self, code, message, **params):
        super().__init__(message)
        self.code = code
        self.params = params


def _reject_constant(name):
    raise CatalogError('json', f"not a number: {name}", error=name)


def _code(value):
    if (not isinstance(value, str) or not value or len(value) > 100
            or value != value.strip() or any(c.isspace() for c in value)):
        return "a non-empty code of at most 100 characters without spaces"


def _text(value):
    if not isinstance(value, str) or len(value) > 256:
        return "a text of at most 256 characters"


def _decimal(value):
    if isinstance(value, bool) or isinstance(value, float):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str) and len(value) <= 40:
        try:
            return Decimal(value)
        except InvalidOperation:
            return None


def _money(value, maximum=MAX_AMOUNT):
    "An amount from 0 to maximum with at most PRICE_DIGITS decimals"
    number = _decimal(value)
    if (number is None or not number.is_finite() or not
            0 <= number <= maximum
            or number.as_tuple().exponent < -PRICE_DIGITS):
        return None, (f"an amount from 0 to {maximum} with at most "
            f"{PRICE_DIGITS} decimals")
    return number, None


def _count(value, minimum=0):
    if (isinstance(value, bool) or not isinstance(value, int)
            or not minimum <= value <= MAX_COUNT):
        return f"an integer from {minimum} to {MAX_COUNT}"


def _path(value):
    if _code(value) or any(not k for k in value.split('.')):
        return "a dotted path such as spec.parameters.instances"


def _storage_fields(value):
    if not isinstance(value, list) or len(value) > 50:
        return None, "a list of storage fields"
    fields = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {
                'path', 'label', 'storage_class'}:
            return None, "storage fields with path, label and storage_class"
        if _path(item['path']) or _text(item['label']) or _code(
                item['storage_class']):
            return None, "storage fields with path, label and storage_class"
        fields.append({k: item[k] for k in ('path', 'label', 'storage_class')})
    return tuple((f['path'], f['label'], f['storage_class'])
        for f in fields), None


def _read_value(kind, value):
    "(value read, None) or (None, what was expected)"
    if kind == 'code':
        return value, _code(value)
    if kind == 'text':
        return value, _text(value)
    if kind == 'path':
        return value, _path(value)
    if kind == 'money':
        return _money(value)
    if kind == 'percent':
        return _money(value, Decimal(100))
    if kind == 'count':
        return value, _count(value)
    if kind == 'positive':
        return value, _count(value, 1)
    if kind == 'role':
        return value, (None if value in ROLES else "main or supporting")
    if kind == 'storage_fields':
        return _storage_fields(value)
    raise NotImplementedError(kind)


def _read_entry(section, index, entry):
    keys, types = SECTIONS[section]
    if not isinstance(entry, dict):
        raise CatalogError('entry', f"{section}[{index}] is not an object",
            section=section, index=index, field='', expected="an object")
    unknown = set(entry) - set(types)
    if unknown:
        name = sorted(map(str, unknown))[0]
        raise CatalogError('entry', f"{section}[{index}]: unknown {name}",
            section=section, index=index, field=name[:40],
            expected="no such field")
    values = {}
    for name, kind in types.items():
        optional = kind.endswith('?')
        kind = kind.rstrip('?')
        if name not in entry or (optional and entry[name] is None):
            if optional:
                values[name] = None
                continue
            raise CatalogError('entry', f"{section}[{index}]: no {name}",
                section=section, index=index, field=name,
                expected="a value")
        value, expected = _read_value(kind, entry[name])
        if expected:
            raise CatalogError('entry',
                f"{section}[{index}].{name} must be {expected}",
                section=section, index=index, field=name, expected=expected)
        values[name] = value
    return tuple(values[k] for k in keys), values


def _parse(data):
    if isinstance(data, bytes):
        if len(data) > MAX_DOCUMENT_SIZE:
            raise CatalogError('json', "the document is too large",
                error=f"more than {MAX_DOCUMENT_SIZE} bytes")
        try:
            data = data.decode('utf-8')
        except UnicodeDecodeError as e:
            raise CatalogError('json', "the document is not UTF-8",
                error=str(e)) from e
    try:
        document = json.loads(data, parse_float=Decimal,
            parse_constant=_reject_constant)
    except CatalogError:
        raise
    except (ValueError, RecursionError) as e:
        raise CatalogError('json', f"not JSON: {e}", error=str(e)[:200]) \
            from e
    if not isinstance(document, dict):
        raise CatalogError('json', "the document is not a JSON object",
            error=type(document).__name__)
    return document


def read_catalog(data):
    "The checked sections of the document data (bytes or str)"
    document = _parse(data)
    missing = [s for s in SECTIONS if s not in document]
    if missing:
        raise CatalogError('partial',
            f"sections missing: {', '.join(missing)}",
            sections=', '.join(missing))
    catalog = {}
    for section in SECTIONS:
        entries = document[section]
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            raise CatalogError('entry', f"{section} is not a list",
                section=section, index='', field='', expected="a list")
        if not entries and section in REQUIRED_ENTRIES:
            raise CatalogError('partial', f"section {section} is empty",
                sections=section)
        catalog[section] = {}
        for index, entry in enumerate(entries):
            key, values = _read_entry(section, index, entry)
            if key in catalog[section]:
                raise CatalogError('duplicate',
                    f"{section}: {'/'.join(map(str, key))} twice",
                    section=section, key='/'.join(map(str, key)))
            catalog[section][key] = values
    _check_references(catalog)
    return catalog


def _check_references(catalog):
    services = {k[0] for k in catalog['service_pricing']}
    tiers = {k[0] for k in catalog['sla_tiers']}
    for section in ['sla_surcharges', 'compute_plans', 'component_specs',
            'csp_resources']:
        for key, values in catalog[section].items():
            if values['service'] not in services:
                raise CatalogError('reference',
                    f"{section} {'/'.join(key)}: no pricing of service "
                    f"{values['service']}", section=section,
                    key='/'.join(key), target=values['service'])
    for key, values in catalog['sla_surcharges'].items():
        if values['sla'] not in tiers:
            raise CatalogError('reference',
                f"sla_surcharges {'/'.join(key)}: no SLA tier "
                f"{values['sla']}", section='sla_surcharges',
                key='/'.join(key), target=values['sla'])
    mains = {}
    for (service, _), values in catalog['component_specs'].items():
        mains.setdefault(service, 0)
        mains[service] += values['role'] == 'main'
    for service, count in sorted(mains.items()):
        if count != 1:
            raise CatalogError('components',
                f"{service} has {count} main components, not one",
                service=service, count=count)
    try:
        validate_brackets([Bracket(v['number'], v['ram_from'], v['ram_to'],
                    v['discount'])
                for v in catalog['discount_brackets'].values()])
    except PricingError as e:
        raise CatalogError('brackets', str(e), error=str(e)) from e
