# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The configuration checklist of a service (doc/checklist.rst).

``Checklist.check(service)`` reads the catalog, the organization origins,
the billing entities and the subscription services into the plain values
of ``readiness`` and checks them; ``describe`` turns each point into
translated text that says what to set and where. The *Service Checklist*
wizard (finance) and the route ``GET /<database>/cloud_pricing/checklist/
<service>`` (routes.py) show it. A service that fails it cannot be
ordered: the *Price an Instance* wizard's *Create Subscription* and the run
of a subscription that bills the service are refused (``check_orderable``).

The checklist is read without access checks: it is a summary of the
configuration, shown only to finance (the wizard's group, the route's own
check of the caller's groups).
"""
from trytond.i18n import gettext
from trytond.model import Model, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateView, Wizard

from subscription_core.validation import InputMixin, WizardInputMixin

from . import readiness
from .catalog import DEFAULT_PREFIX, get_option, server_now, stale_after
from .exceptions import ChecklistError
from .organization import invoice_address
from .pricing import managed_product

__all__ = ['Checklist', 'ChecklistStart', 'ChecklistPoint',
    'ChecklistResult', 'ShowChecklist', 'Price', 'Subscription']


def _synced(entry):
    return entry.last_synced


class Checklist(Model):
    "Service Checklist"
    __string__ = "Service Checklist"
    __name__ = 'cloud_pricing.checklist'

    @classmethod
    def services(cls):
        "The services the active catalog names, sorted"
        pool = Pool()
        names = set()
        with without_check_access():
            for model in ['cloud_pricing.service_pricing',
                    'cloud_pricing.compute_plan',
                    'cloud_pricing.component_spec',
                    'cloud_pricing.sla_surcharge']:
                names.update(r['service'] for r in pool.get(model).search_read(
                        [], fields_names=['service']))
        return sorted(names)

    @classmethod
    def service_catalog(cls, service):
        "The readiness.ServiceCatalog of service, from the database"
        pool = Pool()
        Tier = pool.get('cloud_pricing.sla_tier')
        ServicePricing = pool.get('cloud_pricing.service_pricing')
        Surcharge = pool.get('cloud_pricing.sla_surcharge')
        Plan = pool.get('cloud_pricing.compute_plan')
        Storage = pool.get('cloud_pricing.storage')
        Bracket = pool.get('cloud_pricing.discount_bracket')
        ComponentSpec = pool.get('cloud_pricing.component_spec')
        CspResource = pool.get('cloud_pricing.csp_resource')
        Assignment = pool.get('cloud_pricing.plan_assignment')
        Origin = pool.get('cloud_pricing.organization.origin')
        Party = pool.get('party.party')
        Service = pool.get('sale.subscription.service')
        of_service = [('service', '=', service)]
        with without_check_access():
            pricing = ServicePricing.search(of_service, limit=1)
            origins = Origin.search([])
            entities = {o.default_billing_entity for o in origins
                if o.default_billing_entity}
            with Transaction().set_context(active_test=False):
                entities.update(p.billing_entity for p in Party.search([
                            ('organization_origin', '!=', None),
                            ('billing_entity', '!=', None),
                            ]))
            return readiness.ServiceCatalog(
                service=service,
                prefix=get_option('product_prefix', default=DEFAULT_PREFIX),
                tiers=tuple(readiness.Tier(t.code, _synced(t))
                    for t in Tier.search([])),
                pricing=readiness.Pricing(pricing[0].currency.code,
                    _synced(pricing[0])) if pricing else None,
                surcharges=tuple(readiness.Surcharge(
                        s.sla, s.minimum_units, _synced(s))
                    for s in Surcharge.search(of_service)),
                plans=tuple(readiness.Plan(p.provider, p.plan, p.ram_gib,
                        p.product, _synced(p))
                    for p in Plan.search(of_service)),
                storage=tuple(readiness.Storage(s.provider, s.storage_class,
                        s.product, _synced(s)) for s in Storage.search([])),
                brackets=tuple(readiness.BracketEntry(b.number, b.ram_from,
                        b.ram_to, b.discount, _synced(b))
                    for b in Bracket.search([])),
                components=tuple(readiness.ComponentEntry(c.component,
                        c.role, tuple(f[2] for f in c.get_storage_fields()),
                        _synced(c))
                    for c in ComponentSpec.search(of_service)),
                csp_resources=tuple(readiness.CspEntry(r.provider, r.sku,
                        r.product, _synced(r))
                    for r in CspResource.search(of_service)),
                assignments=frozenset((a.provider, a.plan)
                    for a in Assignment.search(of_service)),
                origins=tuple(readiness.OriginEntry(o.rec_name,
                        o.default_billing_entity.rec_name
                        if o.default_billing_entity else None)
                    for o in origins),
                entities=tuple(readiness.EntityEntry(e.rec_name, e.active,
                        invoice_address(e) is not None) for e in entities),
                products=frozenset(s.product.code for s in Service.search([
                            ('product.code', '!=', None)])),
                )

    @classmethod
    def check(cls, service):
        "The readiness.Points of service now"
        return readiness.check(
            cls.service_catalog(service), server_now(), stale_after())

    @classmethod
    def describe(cls, service, points):
        """Each point as {code, ok, blocking, label, text}: text says what
        is missing and what to set where (or, for an ok point, nothing but
        the CSP resources' information)"""
        IrModel = Pool().get('ir.model')
        result = []
        for point in points:
            items = point.items
            if point.code == 'sync':
                items = [IrModel.get_name(m) for m in items]
            text = ''
            if not point.ok or not point.blocking:
                variant = 'items' if items else 'missing'
                text = gettext(
                    f'cloud_pricing.msg_checklist_{point.code}_{variant}',
                    service=service, items=', '.join(items),
                    hours=int(stale_after().total_seconds() // 3600))
            result.append({
                    'code': point.code,
                    'ok': point.ok,
                    'blocking': point.blocking,
                    'label': gettext(
                        f'cloud_pricing.msg_checklist_{point.code}'),
                    'text': text,
                    })
        return result

    @classmethod
    def check_orderable(cls, services):
        "Refuse when one of services fails the checklist"
        for service in sorted(services):
            points = cls.check(service)
            if not readiness.is_ready(points):
                failed = [p for p in cls.describe(service, points)
                    if p['blocking'] and not p['ok']]
                raise ChecklistError(gettext(
                        'cloud_pricing.msg_checklist_not_orderable',
                        service=service,
                        points=', '.join(p['label'] for p in failed)))


class ChecklistStart(InputMixin, ModelView):
    "Service Checklist"
    __string__ = "Service Checklist"
    __name__ = 'cloud_pricing.checklist.start'

    service = fields.Selection('get_services', "Service", required=True)

    @classmethod
    def get_services(cls):
        Checklist = Pool().get('cloud_pricing.checklist')
        return [(s, s) for s in Checklist.services()]


class ChecklistPoint(InputMixin, ModelView):
    "Service Checklist Point"
    __string__ = "Service Checklist Point"
    __name__ = 'cloud_pricing.checklist.point'

    label = fields.Char("Point", readonly=True)
    status = fields.Selection([
            ('ok', "OK"),
            ('missing', "Missing"),
            ('info', "Information"),
            ], "Status", readonly=True)
    text = fields.Text("What to Set", readonly=True)


class ChecklistResult(InputMixin, ModelView):
    "Service Checklist"
    __string__ = "Service Checklist"
    __name__ = 'cloud_pricing.checklist.result'

    service = fields.Char("Service", readonly=True)
    ready = fields.Boolean("Ready to Order", readonly=True)
    points = fields.One2Many('cloud_pricing.checklist.point', None,
        "Points", readonly=True)


class ShowChecklist(WizardInputMixin, Wizard):
    "Service Checklist"
    __string__ = "Service Checklist"
    __name__ = 'cloud_pricing.checklist.show'
    start = StateView('cloud_pricing.checklist.start',
        'cloud_pricing.checklist_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Check", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('cloud_pricing.checklist.result',
        'cloud_pricing.checklist_result_view_form', [
            # No way back to the start: the points are never sent back
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        Checklist = Pool().get('cloud_pricing.checklist')
        service = self.start.service
        points = Checklist.check(service)
        return {
            'service': service,
            'ready': readiness.is_ready(points),
            'points': [{
                    'label': p['label'],
                    'status': ('info' if not p['blocking']
                        else 'ok' if p['ok'] else 'missing'),
                    'text': p['text'],
                    } for p in Checklist.describe(service, points)],
            }


class Price(metaclass=PoolMeta):
    __name__ = 'cloud_pricing.price'

    def transition_order(self):
        "A service that fails the checklist cannot be ordered"
        Checklist = Pool().get('cloud_pricing.checklist')
        if self.start.compute_plan:
            Checklist.check_orderable([self.start.compute_plan.service])
        return super().transition_order()


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def run(cls, subscriptions):
        Checklist = Pool().get('cloud_pricing.checklist')
        Checklist.check_orderable(cls.get_pricing_services(subscriptions))
        super().run(subscriptions)

    @classmethod
    def get_pricing_services(cls, subscriptions):
        """The services of the catalog the subscriptions bill: those whose
        managed service fee (<prefix>-<service>-<sla>-managed) is the
        product of one of their lines"""
        pool = Pool()
        Surcharge = pool.get('cloud_pricing.sla_surcharge')
        codes = {l.service.product.code for s in subscriptions
            for l in s.lines if l.service and l.service.product.code}
        if not codes:
            return set()
        prefix = get_option('product_prefix', default=DEFAULT_PREFIX)
        with without_check_access(), \
                Transaction().set_context(active_test=False):
            surcharges = Surcharge.search_read([],
                fields_names=['service', 'sla'])
        return {s['service'] for s in surcharges
            if managed_product(prefix, s['service'], s['sla']) in codes}

