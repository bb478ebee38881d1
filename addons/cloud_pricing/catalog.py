# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The pricing catalog, as synced from the provider (doc/catalog.rst).

Every entry is read-only in the ERP: no group may create, write or delete
them (catalog.xml); only the sync (sync.py) writes them, without access
checks. Each carries when it was last synced and shows *Stale* past the
configured age. An entry that leaves the document is deactivated, never
deleted: quotes and subscriptions made from it keep their history.
"""
import datetime
import json

import trytond.config as config
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.modules.product import price_digits
from trytond.pool import Pool
from trytond.transaction import Transaction

from subscription_core.validation import InputMixin

from .pricing import ROLES
from .readiness import is_stale

__all__ = ['get_option', 'server_now', 'stale_after', 'is_stale',
    'CatalogEntryMixin', 'SlaTier', 'ServicePricing', 'SlaSurcharge',
    'ComputePlan', 'StorageCatalog', 'DiscountBracket', 'ComponentSpec',
    'CspResource', 'PlanAssignment']

DEFAULT_STALE_HOURS = 24
DEFAULT_PREFIX = 'servala'


def get_option(name, type_=str, default=None):
    "An option of the [cloud_pricing] section of the trytond configuration"
    getter = {str: config.get, int: config.getint}[type_]
    return getter('cloud_pricing', name, default=default)


def server_now():
    "The server's clock, naive UTC as Tryton stores timestamps"
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def stale_after():
    "The age past which an entry is stale ([cloud_pricing] stale_hours)"
    return datetime.timedelta(
        hours=get_option('stale_hours', int, DEFAULT_STALE_HOURS))


class CatalogEntryMixin(InputMixin, DeactivableMixin, ModelSQL, ModelView):
    """An entry of the provider's catalog

    ``_sync_section`` names the document's section, ``_sync_key`` the
    fields that identify an entry in it (doc/catalog.rst).
    """
    __slots__ = ()
    _sync_section = None
    _sync_key = ()

    last_synced = fields.Timestamp("Last Synced", readonly=True,
        help="When the sync last found this entry in the catalog "
        "(or deactivated it).")
    stale = fields.Function(fields.Boolean("Stale",
            help="Not synced for longer than the configured age: the "
            "provider's catalog may have changed since."),
        'get_stale', searcher='search_stale')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('sync_key_unique', Unique(t, *(getattr(t, k)
                        for k in cls._sync_key)),
                'cloud_pricing.msg_catalog_key_unique'),
            ]
        cls._order = [(k, 'ASC') for k in cls._sync_key] + cls._order
        for name in dir(cls):
            field = getattr(cls, name, None)
            if isinstance(field, fields.Field) and name not in {
                    'active', 'id'}:
                field.readonly = True

    def get_stale(self, name):
        return is_stale(self.last_synced, server_now(), stale_after())

    @classmethod
    def search_stale(cls, name, clause):
        _, operator, value = clause
        limit = server_now() - stale_after()
        stale = ['OR',
            ('last_synced', '=', None),
            ('last_synced', '<', limit),
            ]
        fresh = [('last_synced', '>=', limit)]
        if operator not in {'=', '!='} or value not in {True, False}:
            return [('id', '=', -1)]
        if (operator == '=') == bool(value):
            return stale
        return fresh

    def get_rec_name(self, name):
        return ' / '.join(str(getattr(self, k)) for k in self._sync_key)

    @classmethod
    def _rec_name_fields(cls):
        return [k for k in cls._sync_key if cls._fields[k]._type == 'char']

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        names = cls._rec_name_fields()
        if not names:
            return [('id', '=', -1)]
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op] + [(k,) + tuple(clause[1:]) for k in names]

    def sync_key(self):
        return tuple(getattr(self, k) for k in self._sync_key)

    @classmethod
    def sync_values(cls, values):
        "The field values of a document entry (overridden to convert)"
        return dict(values)

    @classmethod
    def differs(cls, record, values):
        "Whether the record's fields differ from values"
        for name, value in values.items():
            current = getattr(record, name)
            if isinstance(current, ModelSQL):
                current = current.id
            if current != value:
                return True
        return not record.active

    @classmethod
    def sync_entries(cls, entries, now):
        """Create, update and deactivate the entries to match entries,
        {key: field values}; return (created, updated, deactivated)"""
        with Transaction().set_context(active_test=False):
            records = cls.search([])
        existing = {r.sync_key(): r for r in records}
        to_create, to_write = [], []
        updated = deactivated = 0
        for key, values in entries.items():
            record = existing.pop(key, None)
            if record is None:
                to_create.append(dict(values, active=True, last_synced=now))
                continue
            if cls.differs(record, values):
                updated += 1
            to_write.extend([[record], dict(values, active=True,
                        last_synced=now)])
        gone = [r for r in existing.values() if r.active]
        deactivated = len(gone)
        if gone:
            to_write.extend([gone, {'active': False, 'last_synced': now}])
        if to_create:
            cls.create(to_create)
        if to_write:
            cls.write(*to_write)
        return len(to_create), updated, deactivated


class SlaTier(CatalogEntryMixin):
    "SLA Tier"
    __string__ = "SLA Tier"
    __name__ = 'cloud_pricing.sla_tier'
    _sync_section = 'sla_tiers'
    _sync_key = ('code',)

    code = fields.Char("Code", required=True)
    name = fields.Char("Name")
    uptime = fields.Numeric("Uptime %", digits=(16, 4), required=True)
    ha_replica_min = fields.Integer("HA Replica Minimum", required=True,
        help="The main component needs at least this many replicas.")
    service_level = fields.Char("Service Level", required=True,
        help="The value written to the instance's resource.")

    def get_rec_name(self, name):
        return self.name or self.code

    @classmethod
    def _rec_name_fields(cls):
        return ['code', 'name']


class ServicePricing(CatalogEntryMixin):
    "Service Pricing"
    __string__ = "Service Pricing"
    __name__ = 'cloud_pricing.service_pricing'
    _sync_section = 'service_pricing'
    _sync_key = ('service',)

    service = fields.Char("Service", required=True)
    base_fee = fields.Numeric("Base Fee", digits=price_digits, required=True,
        help="The flat monthly fee of every instance, without SLA.")
    unit_rate = fields.Numeric("Unit Rate", digits=price_digits,
        required=True, help="The monthly rate per GiB of RAM, without SLA.")
    currency = fields.Many2One('currency.currency', "Currency",
        required=True, ondelete='RESTRICT')

    @classmethod
    def sync_values(cls, values):
        values = dict(values)
        values['currency'] = values['currency'].id
        return values


class SlaSurcharge(CatalogEntryMixin):
    "SLA Surcharge"
    __string__ = "SLA Surcharge"
    __name__ = 'cloud_pricing.sla_surcharge'
    _sync_section = 'sla_surcharges'
    _sync_key = ('service', 'sla')

    service = fields.Char("Service", required=True)
    sla = fields.Char("SLA Tier", required=True)
    base_fee_surcharge = fields.Numeric("Base Fee Surcharge",
        digits=price_digits, required=True)
    unit_surcharge = fields.Numeric("Per-Unit Surcharge",
        digits=price_digits, required=True)
    minimum_units = fields.Integer("Minimum Units", required=True,
        help="The least GiB of RAM of a plan with this tier.")


class ComputePlan(CatalogEntryMixin):
    "Compute Plan Catalog Entry"
    __string__ = "Compute Plan Catalog Entry"
    __name__ = 'cloud_pricing.compute_plan'
    _sync_section = 'compute_plans'
    _sync_key = ('service', 'provider', 'plan')

    service = fields.Char("Service", required=True)
    provider = fields.Char("Provider", required=True)
    plan = fields.Char("Plan", required=True)
    ram_gib = fields.Integer("RAM GiB", required=True)
    vcpus = fields.Integer("vCPUs", required=True)
    monthly_price = fields.Numeric("Monthly Price", digits=price_digits,
        required=True)
    product = fields.Char("Product ID", required=True,
        help="The code of the product that bills this plan.")

    @classmethod
    def sync_values(cls, values):
        values = dict(values)
        values.pop('sort_order', None)
        values.pop('proposed_storage_gib', None)
        return values


class StorageCatalog(CatalogEntryMixin):
    "Storage Catalog Entry"
    __string__ = "Storage Catalog Entry"
    __name__ = 'cloud_pricing.storage'
    _sync_section = 'storage'
    _sync_key = ('provider', 'storage_class')

    provider = fields.Char("Provider", required=True)
    storage_class = fields.Char("Storage Class", required=True)
    price_per_gib = fields.Numeric("Price per GiB", digits=price_digits,
        required=True)
    product = fields.Char("Product ID", required=True)


class DiscountBracket(CatalogEntryMixin):
    "Progressive Discount Bracket"
    __string__ = "Progressive Discount Bracket"
    __name__ = 'cloud_pricing.discount_bracket'
    _sync_section = 'discount_brackets'
    _sync_key = ('number',)

    number = fields.Integer("Number", required=True,
        help="The bracket's product is <prefix>-<service>-<sla>-managed-b"
        "<number>.")
    ram_from = fields.Integer("From GiB", required=True)
    ram_to = fields.Integer("To GiB", help="Empty for the last bracket.")
    discount = fields.Numeric("Discount %", digits=(16, 4), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('ram_from', 'ASC'))

    def get_rec_name(self, name):
        return f'b{self.number}'


class ComponentSpec(CatalogEntryMixin):
    "Service Component Spec"
    __string__ = "Service Component Spec"
    __name__ = 'cloud_pricing.component_spec'
    _sync_section = 'component_specs'
    _sync_key = ('service', 'component')

    service = fields.Char("Service", required=True)
    component = fields.Char("Component", required=True)
    role = fields.Selection([(r, r.capitalize()) for r in ROLES], "Role",
        required=True)
    replicas_path = fields.Char("Replicas Path", required=True,
        help="Where the replica count is in the instance spec, e.g. "
        "spec.parameters.instances.")
    storage_fields = fields.Text("Storage Fields",
        help="The storage fields billed, as a JSON list of path, label "
        "and storage class.")

    @classmethod
    def sync_values(cls, values):
        values = dict(values)
        values['storage_fields'] = json.dumps([
                {'path': p, 'label': l, 'storage_class': c}
                for p, l, c in values['storage_fields']])
        return values

    def get_storage_fields(self):
        "[(path, label, storage class)]"
        return [(f['path'], f['label'], f['storage_class'])
            for f in json.loads(self.storage_fields or '[]')]


class CspResource(CatalogEntryMixin):
    "Additional CSP Resource"
    __string__ = "Additional CSP Resource"
    __name__ = 'cloud_pricing.csp_resource'
    _sync_section = 'csp_resources'
    _sync_key = ('service', 'provider', 'sku')

    service = fields.Char("Service", required=True)
    provider = fields.Char("Provider", required=True)
    sku = fields.Char("SKU", required=True)
    label = fields.Char("Label", required=True)
    quantity = fields.Numeric("Quantity", digits=(16, 4), required=True)
    monthly_price = fields.Numeric("Monthly Price", digits=price_digits,
        required=True)
    product = fields.Char("Product ID", required=True)


class PlanAssignment(CatalogEntryMixin):
    "Compute Plan Assignment"
    __string__ = "Compute Plan Assignment"
    __name__ = 'cloud_pricing.plan_assignment'
    _sync_section = None
    _sync_key = ('service', 'provider', 'plan')

    service = fields.Char("Service", required=True)
    provider = fields.Char("Provider", required=True)
    plan = fields.Char("Plan", required=True)
    compute_plan = fields.Many2One('cloud_pricing.compute_plan',
        "Compute Plan", required=True, ondelete='CASCADE',
        context={'active_test': False})
    sort_order = fields.Integer("Sort Order", required=True)
    proposed_storage_gib = fields.Integer("Proposed Storage GiB")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('service', 'ASC'), ('provider', 'ASC'), ('sort_order', 'ASC'),
            ('plan', 'ASC'), ('id', 'ASC')]

    @classmethod
    def entries(cls, plans, document_plans, services):
        """The assignments of the synced plans: one per active plan whose
        service has a main component spec (a valid pair); the document's
        sort order, else by RAM then name, in tens."""
        entries = {}
        ranked = sorted((p for p in plans if p.active),
            key=lambda p: (p.service, p.provider, p.ram_gib, p.plan))
        rank = {}
        for plan in ranked:
            if plan.service not in services:
                continue
            key = plan.sync_key()
            group = (plan.service, plan.provider)
            rank[group] = rank.get(group, 0) + 10
            extra = document_plans.get(key, {})
            sort_order = extra.get('sort_order')
            entries[key] = {
                'service': plan.service,
                'provider': plan.provider,
                'plan': plan.plan,
                'compute_plan': plan.id,
                'sort_order': (rank[group] if sort_order is None
                    else sort_order),
                'proposed_storage_gib': extra.get('proposed_storage_gib'),
                }
        return entries

    @classmethod
    def sync_assignments(cls, document_plans, now):
        pool = Pool()
        ComputePlan = pool.get('cloud_pricing.compute_plan')
        ComponentSpec = pool.get('cloud_pricing.component_spec')
        with Transaction().set_context(active_test=False):
            plans = ComputePlan.search([])
        services = {s.service for s in ComponentSpec.search([
                    ('role', '=', 'main')])}
        return cls.sync_entries(
            cls.entries(plans, document_plans, services), now)
