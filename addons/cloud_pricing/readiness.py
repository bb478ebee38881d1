# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The configuration checklist of a service, as plain Python (no ORM).

``check(catalog, now, max_age)`` answers, for the catalog of one service as
``ServiceCatalog`` plain values, each point of the checklist of
doc/checklist.rst in order: a ``Point`` with its ``code``, whether it is
``ok``, the ``items`` missing (or, for the CSP resources, those defined)
and whether it is ``blocking``. A service is ready to be ordered when every
blocking point is ok (``is_ready``). The models (checklist.py) read the
catalog into these values and turn each point into translated text that
says what to set and where.

``emitted_products`` lists every product ID the calculation (pricing.py)
can emit for the service: each must have a subscription service.
"""
from dataclasses import dataclass, field

from .pricing import (
    PricingError, managed_product, sizing_product, split_units,
    validate_brackets)

__all__ = ['POINTS', 'Tier', 'Pricing', 'Surcharge', 'Plan', 'Storage',
    'BracketEntry', 'ComponentEntry', 'CspEntry', 'OriginEntry',
    'EntityEntry', 'ServiceCatalog', 'Point', 'emitted_products', 'check',
    'is_ready', 'is_stale']

#: The points in the order of the checklist
POINTS = (
    'sla_tiers', 'service_pricing', 'sla_surcharges', 'discount_brackets',
    'compute_plans', 'storage', 'component_specs', 'csp_resources',
    'sync', 'plan_assignments', 'origin_defaults', 'billing_entities',
    'products')


@dataclass(frozen=True)
class Tier:
    code: str
    last_synced: object = None


@dataclass(frozen=True)
class Pricing:
    currency: str
    last_synced: object = None


@dataclass(frozen=True)
class Surcharge:
    sla: str
    minimum_units: int
    last_synced: object = None


@dataclass(frozen=True)
class Plan:
    provider: str
    plan: str
    ram_gib: int
    product: str
    last_synced: object = None


@dataclass(frozen=True)
class Storage:
    provider: str
    storage_class: str
    product: str
    last_synced: object = None


@dataclass(frozen=True)
class BracketEntry:
    number: int
    ram_from: int
    ram_to: object
    discount: object
    last_synced: object = None


@dataclass(frozen=True)
class ComponentEntry:
    component: str
    role: str
    storage_classes: tuple = ()
    last_synced: object = None


@dataclass(frozen=True)
class CspEntry:
    provider: str
    sku: str
    product: str
    last_synced: object = None


@dataclass(frozen=True)
class OriginEntry:
    name: str
    billing_entity: object  # its name, or None


@dataclass(frozen=True)
class EntityEntry:
    name: str
    active: bool
    invoice_address: bool


@dataclass(frozen=True)
class ServiceCatalog:
    """What the checklist reads for one service: its active catalog
    entries (tiers and brackets are global), the active plan assignments
    as (provider, plan), the active organization origins, the billing
    entities (of the origins and the organizations), the product IDs that
    have an active subscription service, and the managed products' prefix.
    """
    service: str
    prefix: str
    tiers: tuple = ()
    pricing: object = None  # Pricing or None
    surcharges: tuple = ()
    plans: tuple = ()
    storage: tuple = ()
    brackets: tuple = ()
    components: tuple = ()
    csp_resources: tuple = ()
    assignments: frozenset = frozenset()
    origins: tuple = ()
    entities: tuple = ()
    products: frozenset = frozenset()


@dataclass(frozen=True)
class Point:
    code: str
    ok: bool
    items: tuple = field(default=())
    blocking: bool = True


def is_stale(last_synced, now, max_age):
    "Never synced, or synced longer than max_age before now"
    return last_synced is None or now - last_synced > max_age


def _brackets(catalog):
    "The valid brackets of the catalog, or None"
    try:
        return validate_brackets(catalog.brackets)
    except (PricingError, TypeError):
        return None


def _storage_classes(catalog):
    return sorted({c for component in catalog.components
            for c in component.storage_classes})


def _providers(catalog):
    return sorted({p.provider for p in catalog.plans})


def emitted_products(catalog):
    """Every product ID the calculation can emit for the service: the
    compute plans', the storage classes' its components use on the
    providers of its plans, the CSP resources', and per SLA tier with a
    surcharge (and a plan with RAM enough for it) the managed service fee
    and the sizing fee of each bracket a plan's RAM reaches"""
    products = {p.product for p in catalog.plans}
    classes = _storage_classes(catalog)
    products.update(s.product for s in catalog.storage
        if s.provider in _providers(catalog)
        and s.storage_class in classes)
    products.update(r.product for r in catalog.csp_resources)
    tiers = {t.code for t in catalog.tiers}
    brackets = _brackets(catalog) or ()
    for surcharge in catalog.surcharges:
        if surcharge.sla not in tiers:
            continue
        plans = [p for p in catalog.plans
            if p.ram_gib >= surcharge.minimum_units]
        if plans:
            products.add(managed_product(
                    catalog.prefix, catalog.service, surcharge.sla))
        for plan in plans:
            for bracket, _ in (split_units(plan.ram_gib, brackets)
                    if brackets else ()):
                products.add(sizing_product(catalog.prefix,
                        catalog.service, surcharge.sla, bracket.number))
    return sorted(products)


def _synced_groups(catalog):
    "[(model, entries)] of what the price of the service reads"
    providers = _providers(catalog)
    return [
        ('cloud_pricing.sla_tier', catalog.tiers),
        ('cloud_pricing.service_pricing',
            [catalog.pricing] if catalog.pricing else []),
        ('cloud_pricing.sla_surcharge', catalog.surcharges),
        ('cloud_pricing.discount_bracket', catalog.brackets),
        ('cloud_pricing.compute_plan', catalog.plans),
        ('cloud_pricing.storage',
            [s for s in catalog.storage if s.provider in providers]),
        ('cloud_pricing.component_spec', catalog.components),
        ('cloud_pricing.csp_resource', catalog.csp_resources),
        ]


def check(catalog, now, max_age):
    "The points of the checklist of catalog's service, in POINTS order"
    points = []

    def point(code, ok, items=(), blocking=True):
        points.append(Point(code, bool(ok), tuple(items), blocking))

    tiers = [t.code for t in catalog.tiers]
    point('sla_tiers', tiers)
    point('service_pricing', catalog.pricing is not None)
    with_surcharge = {s.sla for s in catalog.surcharges}
    missing = sorted(set(tiers) - with_surcharge)
    point('sla_surcharges', not missing, missing)
    point('discount_brackets', _brackets(catalog) is not None)

    providers = _providers(catalog)
    # A CSP resource on a provider without plans is never billed
    missing = sorted({r.provider for r in catalog.csp_resources}
        - set(providers))
    point('compute_plans', providers and not missing, missing)
    stored = {(s.provider, s.storage_class) for s in catalog.storage}
    missing = [f'{p}/{c}' for p in providers
        for c in _storage_classes(catalog) if (p, c) not in stored]
    point('storage', not missing, missing)
    mains = sorted(c.component for c in catalog.components
        if c.role == 'main')
    point('component_specs', len(mains) == 1,
        mains if len(mains) > 1 else ())
    point('csp_resources', True, sorted(
            f'{r.provider}/{r.sku}' for r in catalog.csp_resources),
        blocking=False)

    groups = _synced_groups(catalog)
    stale = [model for model, entries in groups
        if any(is_stale(e.last_synced, now, max_age) for e in entries)]
    synced = any(entries for _, entries in groups)
    point('sync', synced and not stale, stale)

    missing = sorted(f'{p.provider}/{p.plan}' for p in catalog.plans
        if (p.provider, p.plan) not in catalog.assignments)
    point('plan_assignments', catalog.plans and not missing, missing)

    missing = sorted(o.name for o in catalog.origins
        if not o.billing_entity)
    point('origin_defaults', catalog.origins and not missing, missing)
    missing = sorted({e.name for e in catalog.entities
            if not (e.active and e.invoice_address)})
    point('billing_entities', catalog.entities and not missing, missing)

    missing = [p for p in emitted_products(catalog)
        if p not in catalog.products]
    point('products', not missing, missing)
    return points


def is_ready(points):
    "Whether every blocking point is ok: the service can be ordered"
    return all(p.ok for p in points if p.blocking)
