# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The price of a service instance, as plain Python (no ORM).

From the catalog entries of one service on one provider (its pricing, the
chosen SLA tier and its surcharge, the compute plan, the storage classes,
the discount brackets, the component specs and the additional CSP
resources) and the instance spec (a JSON document), ``price_instance``
computes the five kinds of line items of doc/pricing.rst:

1. ``compute``, per component: replicas × the plan's monthly price;
2. ``storage``, per storage field per component: GiB × the component's
   replicas at the storage class's price per GiB;
3. ``csp``, per additional CSP resource: its fixed quantity at its price;
4. ``managed``: one × (base fee + SLA base-fee surcharge);
5. ``sizing``, per discount bracket the plan's RAM reaches: units in the
   bracket × main replicas at (base unit rate + SLA per-unit surcharge) ×
   (1 − discount).

Money conventions are those of ``subscription_core.money``: Decimal, never
float; a unit price is a catalog price (rounded to the price digits when a
discount makes it longer, as a product's unit price is), and each line's
amount is value × unit price rounded ONCE with the currency's rounding.
The monthly total is the sum of the rounded lines.

Bad input raises ``PricingError`` whose ``code`` names the rule broken and
``params`` the values of the message; the models turn it into a translated
message (``msg_pricing_<code>``).
"""
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from subscription_core.input_error import short
from subscription_core.money import round_money

__all__ = [
    'KINDS', 'ROLES', 'PricingError', 'SlaTier', 'ServicePricing',
    'SlaSurcharge', 'ComputePlan', 'StorageClass', 'Bracket',
    'StorageField', 'Component', 'CspResource', 'LineItem',
    'validate_brackets', 'split_units', 'parse_spec', 'spec_value',
    'replicas_of', 'storage_gib', 'managed_product', 'sizing_product',
    'price_instance', 'monthly_total', 'annotation_item',
    'annotation_items', 'ANNOTATION_DOMAIN', 'AnnotationItem',
    'annotations',
    ]

KINDS = ('compute', 'storage', 'csp', 'managed', 'sizing')
ROLES = ('main', 'supporting')
# Refused beyond these: a spec or catalog value that large is a mistake.
MAX_REPLICAS = 1000
MAX_GIB = 10 ** 7
MAX_SPEC_SIZE = 100_000
PRICE_DIGITS = 4
# The domain of the resource annotations' keys (the seed's)
ANNOTATION_DOMAIN = 'billing.servala.com'
# Kubernetes quantities accepted for storage, in GiB
_STORAGE_SUFFIXES = {'Gi': 1, 'Ti': 1024}


class PricingError(ValueError):
    "A price that cannot be computed; code names the rule, params the values"

    def __init__(self, code, message, **params):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class SlaTier:
    code: str
    ha_replica_min: int


@dataclass(frozen=True)
class ServicePricing:
    service: str
    base_fee: Decimal
    unit_rate: Decimal


@dataclass(frozen=True)
class SlaSurcharge:
    base_fee_surcharge: Decimal
    unit_surcharge: Decimal
    minimum_units: int


@dataclass(frozen=True)
class ComputePlan:
    name: str
    ram_gib: int
    monthly_price: Decimal
    product: str


@dataclass(frozen=True)
class StorageClass:
    storage_class: str
    price_per_gib: Decimal
    product: str


@dataclass(frozen=True)
class Bracket:
    "RAM GiB from ram_from (inclusive) to ram_to (exclusive; None: open)"
    number: int
    ram_from: int
    ram_to: object
    discount: Decimal  # percent


@dataclass(frozen=True)
class StorageField:
    path: str
    label: str
    storage_class: str


@dataclass(frozen=True)
class Component:
    name: str
    role: str
    replicas_path: str
    storage_fields: tuple = ()


@dataclass(frozen=True)
class CspResource:
    sku: str
    label: str
    quantity: Decimal
    monthly_price: Decimal
    product: str


@dataclass(frozen=True)
class LineItem:
    kind: str
    product: str
    value: Decimal
    unit_price: Decimal
    amount: Decimal
    description: str
    group: str = ''
    component: str = ''
    bracket: object = None
    params: dict = field(default_factory=dict, compare=False)
    # What the item bills within its instance, the same across spec
    # changes: 'compute:<component>', 'storage:<component>:<path>',
    # 'csp:<sku>', 'managed', 'sizing:<bracket number>' (spec_change.py)
    key: str = ''


def _money(value, name):
    "A finite, non-negative Decimal (no float, no bool)"
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{name} must be Decimal, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite() or value < 0:
        raise PricingError('negative', f"{name} must be a finite amount "
            f"not below zero: {value}", name=name, value=value)
    return value


def _count(value, name, minimum=0, maximum=MAX_REPLICAS):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not "
            f"{type(value).__name__}")
    if not minimum <= value <= maximum:
        raise PricingError('count', f"{name} must be between {minimum} and "
            f"{maximum}: {value}", name=name, value=value,
            minimum=minimum, maximum=maximum)
    return value


# ---------------------------------------------------------------------------
# Discount brackets
# ---------------------------------------------------------------------------

def validate_brackets(brackets):
    """Check brackets: from 0, contiguous, ascending, the last open, each
    number once, discounts from 0 to 100 %; return them sorted by ram_from.
    """
    brackets = sorted(brackets, key=lambda b: b.ram_from)
    if not brackets:
        raise PricingError('brackets', "no discount bracket")
    expected = 0
    numbers = set()
    for index, bracket in enumerate(brackets):
        _count(bracket.number, 'bracket number', 0, 10 ** 6)
        if bracket.number in numbers:
            raise PricingError('brackets',
                f"bracket b{bracket.number} appears twice")
        numbers.add(bracket.number)
        discount = _money(bracket.discount, 'discount')
        if discount > 100:
            raise PricingError('brackets',
                f"bracket b{bracket.number} discount above 100 %: {discount}")
        _count(bracket.ram_from, 'bracket start', 0, MAX_GIB)
        if bracket.ram_from != expected:
            raise PricingError('brackets',
                f"bracket b{bracket.number} starts at {bracket.ram_from} "
                f"GiB, not at {expected} GiB")
        last = index == len(brackets) - 1
        if bracket.ram_to is None:
            if not last:
                raise PricingError('brackets',
                    f"bracket b{bracket.number} is open but not the last")
            break
        _count(bracket.ram_to, 'bracket end', 0, MAX_GIB)
        if bracket.ram_to <= bracket.ram_from:
            raise PricingError('brackets',
                f"bracket b{bracket.number} ends at {bracket.ram_to} GiB, "
                f"not after its start")
        if last:
            raise PricingError('brackets',
                f"the last bracket b{bracket.number} is not open")
        expected = bracket.ram_to
    return tuple(brackets)


def split_units(units, brackets):
    """Split units (GiB of RAM) across brackets: [(bracket, units in it)]

    Only the brackets units reach are returned; their units add up to units.
    """
    _count(units, 'RAM', 0, MAX_GIB)
    result = []
    for bracket in validate_brackets(brackets):
        if units <= bracket.ram_from:
            break
        end = units if bracket.ram_to is None else min(units, bracket.ram_to)
        result.append((bracket, end - bracket.ram_from))
    return result


# ---------------------------------------------------------------------------
# The instance spec
# ---------------------------------------------------------------------------

def _reject_constant(name):
    raise PricingError('spec_json', f"not a number: {name}", error=name)


def parse_spec(text):
    """The instance spec from its JSON text: a dict, numbers as Decimal

    Refuses what is not a JSON object, NaN and Infinity, and texts over
    MAX_SPEC_SIZE characters.
    """
    if isinstance(text, dict):
        return text
    if not isinstance(text, str):
        raise PricingError('spec_json', "the spec is not a JSON text",
            error=type(text).__name__)
    if len(text) > MAX_SPEC_SIZE:
        raise PricingError('spec_json', "the spec is too long",
            error=f"{len(text)} > {MAX_SPEC_SIZE}")
    try:
        spec = json.loads(text, parse_float=Decimal,
            parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        if isinstance(e, PricingError):
            raise
        raise PricingError('spec_json', f"the spec is not JSON: {e}",
            error=str(e)) from e
    if not isinstance(spec, dict):
        raise PricingError('spec_json', "the spec is not a JSON object",
            error=type(spec).__name__)
    return spec


def spec_value(spec, path):
    """The value at path (dotted keys, e.g. ``spec.parameters.instances``)

    Raises PricingError 'spec_path' naming the first key that is missing.
    """
    if not isinstance(path, str) or not path or any(
            not k for k in path.split('.')):
        raise PricingError('spec_path', f"invalid path {path!r}",
            path=str(path), key='')
    value = spec
    for key in path.split('.'):
        if not isinstance(value, dict) or key not in value:
            raise PricingError('spec_path',
                f"the spec has no {key!r} along {path!r}",
                path=path, key=key)
        value = value[key]
    return value


def replicas_of(spec, component):
    "The replica count of component: an integer from 1 to MAX_REPLICAS"
    value = spec_value(spec, component.replicas_path)
    if (isinstance(value, bool) or not isinstance(value, int)
            or not 1 <= value <= MAX_REPLICAS):
        raise PricingError('replicas',
            f"{component.replicas_path} of {component.name} must be an "
            f"integer from 1 to {MAX_REPLICAS}: {value!r}",
            path=component.replicas_path, component=component.name,
            value=short(value, quote=True), maximum=MAX_REPLICAS)
    return value


def storage_gib(spec, storage_field):
    """The GiB of storage_field: an integer or a Kubernetes quantity in Gi
    or Ti (``"20Gi"``), from 0 to MAX_GIB"""
    value = spec_value(spec, storage_field.path)
    gib = None
    if isinstance(value, int) and not isinstance(value, bool):
        gib = value
    elif isinstance(value, str) and value[-2:] in _STORAGE_SUFFIXES:
        number = value[:-2]
        if number.isascii() and number.isdigit() and len(number) <= 12:
            gib = int(number) * _STORAGE_SUFFIXES[value[-2:]]
    if gib is None or not 0 <= gib <= MAX_GIB:
        raise PricingError('storage',
            f"{storage_field.path} must be whole GiB from 0 to {MAX_GIB} "
            f"(e.g. 20 or \"20Gi\"): {value!r}",
            path=storage_field.path, value=short(value, quote=True),
            maximum=MAX_GIB)
    return gib


# ---------------------------------------------------------------------------
# Line items
# ---------------------------------------------------------------------------

def managed_product(prefix, service, sla):
    return f'{prefix}-{service}-{sla}-managed'


def sizing_product(prefix, service, sla, number):
    return f'{managed_product(prefix, service, sla)}-b{number}'


def _price(value, digits=PRICE_DIGITS):
    "A unit price at the price digits (only a discount makes it longer)"
    exponent = Decimal(1).scaleb(-digits)
    if value == value.quantize(exponent, rounding=ROUND_HALF_EVEN):
        return value
    return value.quantize(exponent, rounding=ROUND_HALF_EVEN)


def _line(kind, product, value, unit_price, rounding, description,
        group, **extra):
    value = Decimal(value)
    return LineItem(kind=kind, product=product, value=value,
        unit_price=unit_price,
        amount=round_money(value * unit_price, rounding),
        description=description, group=group, **extra)


def price_instance(service, sla, surcharge, plan, components, storage,
        brackets, csp_resources, spec, rounding, prefix,
        group='', price_digits=PRICE_DIGITS):
    """The line items of one instance, in the order of the five kinds

    service: ServicePricing; sla: SlaTier; surcharge: SlaSurcharge of the
    service and tier; plan: ComputePlan; components: Components of the
    service (one main); storage: {storage class: StorageClass} of the
    provider; brackets: Brackets; csp_resources: CspResources of the
    service on the provider; spec: dict or JSON text; rounding: the
    currency's rounding (e.g. Decimal('0.01')); prefix of the managed
    products; group: the itemGroupDescription of every line.

    The chosen plan sizes every component (value = the component's
    replicas). A main component below the tier's HA replica minimum or a
    plan with less RAM than the surcharge's minimum units is refused.
    """
    spec = parse_spec(spec)
    base_fee = _money(service.base_fee, 'base fee')
    unit_rate = _money(service.unit_rate, 'unit rate')
    base_surcharge = _money(surcharge.base_fee_surcharge, 'base surcharge')
    unit_surcharge = _money(surcharge.unit_surcharge, 'unit surcharge')
    minimum_units = _count(surcharge.minimum_units, 'minimum units',
        0, MAX_GIB)
    ha_minimum = _count(sla.ha_replica_min, 'HA replica minimum')
    plan_price = _money(plan.monthly_price, 'plan price')
    ram = _count(plan.ram_gib, 'plan RAM', 1, MAX_GIB)
    brackets = validate_brackets(brackets)

    mains = [c for c in components if c.role == 'main']
    if len(mains) != 1 or any(c.role not in ROLES for c in components):
        raise PricingError('components',
            f"{service.service} needs exactly one main component "
            f"and only main or supporting ones",
            service=service.service)
    main, = mains
    replicas = {c.name: replicas_of(spec, c) for c in components}
    if replicas[main.name] < ha_minimum:
        raise PricingError('ha_minimum',
            f"{replicas[main.name]} replicas are below the minimum of "
            f"{ha_minimum} of SLA {sla.code}",
            replicas=replicas[main.name], minimum=ha_minimum, sla=sla.code)
    if ram < minimum_units:
        raise PricingError('minimum_units',
            f"plan {plan.name} has {ram} GiB of RAM, below the minimum of "
            f"{minimum_units} GiB of SLA {sla.code}",
            plan=plan.name, ram=ram, minimum=minimum_units, sla=sla.code)

    # Main first, then the supporting components in their given order
    ordered = [main] + [c for c in components if c is not main]
    lines = []
    for component in ordered:
        lines.append(_line('compute', plan.product, replicas[component.name],
                plan_price, rounding,
                f"Compute {plan.name} ({component.name})", group,
                component=component.name,
                key=f'compute:{component.name}'))
    for component in ordered:
        for storage_field in component.storage_fields:
            gib = storage_gib(spec, storage_field)
            storage_class = storage.get(storage_field.storage_class)
            if storage_class is None:
                raise PricingError('storage_class',
                    f"no price for storage class "
                    f"{storage_field.storage_class!r}",
                    storage_class=storage_field.storage_class)
            if not gib:
                continue
            lines.append(_line('storage', storage_class.product,
                    gib * replicas[component.name],
                    _money(storage_class.price_per_gib, 'storage price'),
                    rounding,
                    f"{storage_field.label} ({component.name})", group,
                    component=component.name,
                    key=f'storage:{component.name}:{storage_field.path}'))
    for resource in csp_resources:
        quantity = _money(resource.quantity, 'CSP quantity')
        lines.append(_line('csp', resource.product, quantity,
                _money(resource.monthly_price, 'CSP price'), rounding,
                resource.label, group, key=f'csp:{resource.sku}'))
    lines.append(_line('managed',
            managed_product(prefix, service.service, sla.code), 1,
            base_fee + base_surcharge, rounding,
            f"Managed service {service.service} ({sla.code})", group,
            key='managed'))
    rate = unit_rate + unit_surcharge
    for bracket, units in split_units(ram, brackets):
        unit_price = _price(rate * (100 - bracket.discount) / 100,
            price_digits)
        lines.append(_line('sizing',
                sizing_product(prefix, service.service, sla.code,
                    bracket.number),
                units * replicas[main.name], unit_price, rounding,
                f"Managed sizing {service.service} ({sla.code}) "
                f"b{bracket.number}", group, bracket=bracket.number,
                key=f'sizing:{bracket.number}'))
    return lines


def monthly_total(lines):
    "The sum of the rounded line amounts"
    return sum((line.amount for line in lines), Decimal(0))


def _json_number(value):
    "An integer when whole, otherwise a decimal string (never a float)"
    return int(value) if value == value.to_integral_value() else str(value)


def annotation_item(line):
    """The line item as downstream systems read it (``productID``,
    ``value``, ``itemDescription``, ``itemGroupDescription``)"""
    return {
        'productID': line.product,
        'value': _json_number(line.value),
        'itemDescription': line.description,
        'itemGroupDescription': line.group,
        }


def annotation_items(lines):
    """The line items as the JSON array of the resource annotations; values
    are integers when whole, otherwise decimal strings."""
    return json.dumps([annotation_item(line) for line in lines],
        separators=(',', ':'))


@dataclass(frozen=True)
class AnnotationItem:
    "A line item as the annotations carry it (a subscription line's, say)"
    product: str
    value: Decimal
    description: str
    group: str = ''


def annotations(lines, sales_order, domain=ANNOTATION_DOMAIN):
    """The resource annotations of an instance billed as lines (LineItems
    or AnnotationItems) on the organization's sale order reference:

        {'<domain>/items': <the JSON array of annotation_items>,
         '<domain>/salesOrderID': <sales_order>}

    Without a sale order (the customer is not an organization) the
    salesOrderID key is left out rather than written empty: downstream
    billing must not read an empty reference as one."""
    result = {f'{domain}/items': annotation_items(lines)}
    if sales_order:
        result[f'{domain}/salesOrderID'] = str(sales_order)
    return result
