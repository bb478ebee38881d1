# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Price an Instance: the line items of a spec, and the subscription of them.

The wizard reads the synced catalog into the plain values of ``pricing``
(``instance_price``), shows the five kinds of line items with their amounts
and the monthly total, and creates a draft subscription with one line per
line item, billed by the engine at the catalog's unit prices. The order
step prices the instance again from the start values: the lines a client
sends back are never trusted.
"""

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import price_digits
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from subscription_core.validation import InputMixin, WizardInputMixin

from . import pricing
from .catalog import get_option, DEFAULT_PREFIX
from .exceptions import OrderError, PricingError

__all__ = ['instance_price', 'PriceStart', 'PriceLine', 'PriceResult',
    'Price']


def _raise(error):
    raise PricingError(gettext(
            'cloud_pricing.msg_pricing_%s' % error.code, **error.params)) \
        from error


def instance_price(plan, tier, spec, group=''):
    """(line items, currency, stale) of spec on the compute plan entry with
    the SLA tier entry, from the active catalog entries"""
    pool = Pool()
    ServicePricing = pool.get('cloud_pricing.service_pricing')
    Surcharge = pool.get('cloud_pricing.sla_surcharge')
    ComponentSpec = pool.get('cloud_pricing.component_spec')
    Storage = pool.get('cloud_pricing.storage')
    Bracket = pool.get('cloud_pricing.discount_bracket')
    CspResource = pool.get('cloud_pricing.csp_resource')

    service = plan.service
    if not plan.active or not tier.active:
        raise PricingError(gettext('cloud_pricing.msg_pricing_inactive',
                plan=plan.rec_name, sla=tier.code))
    services = ServicePricing.search([('service', '=', service)])
    if not services:
        raise PricingError(gettext(
                'cloud_pricing.msg_pricing_no_service_pricing',
                service=service))
    service_pricing, = services
    surcharges = Surcharge.search([
            ('service', '=', service), ('sla', '=', tier.code)])
    if not surcharges:
        raise PricingError(gettext(
                'cloud_pricing.msg_pricing_no_surcharge',
                service=service, sla=tier.code))
    surcharge, = surcharges
    components = [pricing.Component(c.component, c.role, c.replicas_path,
            tuple(pricing.StorageField(*f)
                for f in c.get_storage_fields()))
        for c in ComponentSpec.search([('service', '=', service)],
            order=[('id', 'ASC')])]
    storage = {s.storage_class: pricing.StorageClass(
            s.storage_class, s.price_per_gib, s.product)
        for s in Storage.search([('provider', '=', plan.provider)])}
    brackets = [pricing.Bracket(b.number, b.ram_from, b.ram_to, b.discount)
        for b in Bracket.search([])]
    resources = [pricing.CspResource(r.sku, r.label, r.quantity,
            r.monthly_price, r.product)
        for r in CspResource.search([
                ('service', '=', service), ('provider', '=', plan.provider),
                ], order=[('sku', 'ASC')])]
    entries = ([plan, tier, service_pricing, surcharge]
        + ComponentSpec.search([('service', '=', service)])
        + Storage.search([('provider', '=', plan.provider)])
        + Bracket.search([])
        + CspResource.search([
                ('service', '=', service), ('provider', '=', plan.provider)]))
    stale = any(e.stale for e in entries)
    try:
        lines = pricing.price_instance(
            pricing.ServicePricing(service, service_pricing.base_fee,
                service_pricing.unit_rate),
            pricing.SlaTier(tier.code, tier.ha_replica_min),
            pricing.SlaSurcharge(surcharge.base_fee_surcharge,
                surcharge.unit_surcharge, surcharge.minimum_units),
            pricing.ComputePlan(plan.plan, plan.ram_gib, plan.monthly_price,
                plan.product),
            components, storage, brackets, resources, spec,
            service_pricing.currency.rounding,
            get_option('product_prefix', default=DEFAULT_PREFIX),
            group=group or '')
    except pricing.PricingError as e:
        _raise(e)
    return lines, service_pricing.currency, stale


class PriceStart(InputMixin, ModelView):
    "Price an Instance"
    __string__ = "Price an Instance"
    __name__ = 'cloud_pricing.price.start'

    compute_plan = fields.Many2One('cloud_pricing.compute_plan',
        "Compute Plan", required=True,
        help="The service, provider and plan of the instance.")
    sla_tier = fields.Many2One('cloud_pricing.sla_tier', "SLA Tier",
        required=True)
    instance = fields.Char("Instance", size=100,
        help="The instance's name, the group description of its items.")
    spec = fields.Text("Instance Spec", required=True, size=100_000,
        help="The instance's spec as a JSON document.")


class PriceLine(InputMixin, ModelView):
    "Instance Price Line"
    __string__ = "Instance Price Line"
    __name__ = 'cloud_pricing.price.line'

    kind = fields.Selection([
            ('compute', "Compute"),
            ('storage', "Storage"),
            ('csp', "CSP Resource"),
            ('managed', "Managed Service Fee"),
            ('sizing', "Managed Sizing Fee"),
            ], "Kind", readonly=True, sort=False)
    product = fields.Char("Product ID", readonly=True)
    description = fields.Char("Description", readonly=True)
    quantity = fields.Numeric("Quantity", digits=(16, 4), readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    unit_price = Monetary("Unit Price", currency='currency',
        digits=price_digits, readonly=True)
    amount = Monetary("Amount", currency='currency', digits='currency',
        readonly=True)


class PriceResult(InputMixin, ModelView):
    "Instance Price"
    __string__ = "Instance Price"
    __name__ = 'cloud_pricing.price.result'

    lines = fields.One2Many('cloud_pricing.price.line', None, "Line Items",
        readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    total = Monetary("Monthly Total", currency='currency',
        digits='currency', readonly=True)
    stale = fields.Boolean("Stale Catalog", readonly=True,
        help="Some catalog entries were not synced recently.")
    items = fields.Text("Billing Items", readonly=True,
        help="The line items as the JSON array of the resource "
        "annotations.")
    party = fields.Many2One('party.party', "Customer",
        help="To order: the customer of the subscription.")
    start_date = fields.Date("Start Date",
        help="To order: the first day of the subscription.")


class Price(WizardInputMixin, Wizard):
    "Price an Instance"
    __string__ = "Price an Instance"
    __name__ = 'cloud_pricing.price'
    start = StateView('cloud_pricing.price.start',
        'cloud_pricing.price_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Price", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('cloud_pricing.price.result',
        'cloud_pricing.price_result_view_form', [
            Button("Close", 'end', 'tryton-close'),
            Button("Change", 'start', 'tryton-back'),
            Button("Create Subscription", 'order', 'tryton-ok',
                default=True),
            ])
    order = StateTransition()
    open_ = StateAction('sale_subscription.act_subscription_form')

    # What the result shows and the client sends back: dropped on arrival,
    # the wizard computes it again from the start values.
    _result_output = {'lines', 'currency', 'total', 'stale', 'items'}

    @classmethod
    def _strip_output(cls, data):
        result = data.get('result') if isinstance(data, dict) else None
        if isinstance(result, dict):
            for name in cls._result_output:
                result.pop(name, None)

    @classmethod
    def _check_input_execute(cls, args, context, method):
        if len(args) == 3:
            cls._strip_output(args[1])
        super()._check_input_execute(args, context, method)

    @classmethod
    def execute(cls, session_id, data, state_name):
        cls._strip_output(data)
        return super().execute(session_id, data, state_name)

    def default_start(self, fields):
        "The values of the last pricing, when the user goes back to change"
        start = getattr(self, 'start', None)
        values = {}
        for name in ['compute_plan', 'sla_tier', 'instance', 'spec']:
            value = getattr(start, name, None)
            if value is not None:
                values[name] = getattr(value, 'id', value)
        return values

    def _price(self):
        if not (self.start.compute_plan and self.start.sla_tier
                and self.start.spec):
            raise PricingError(gettext('cloud_pricing.msg_pricing_required'))
        return instance_price(self.start.compute_plan, self.start.sla_tier,
            self.start.spec, self.start.instance)

    def default_result(self, fields):
        lines, currency, stale = self._price()
        return {
            'lines': [{
                    'kind': l.kind,
                    'product': l.product,
                    'description': l.description,
                    'quantity': l.value,
                    'currency': currency.id,
                    'unit_price': l.unit_price,
                    'amount': l.amount,
                    } for l in lines],
            'currency': currency.id,
            'total': pricing.monthly_total(lines),
            'stale': stale,
            'items': pricing.annotation_items(lines),
            'party': self.result.party.id
            if getattr(self.result, 'party', None) else None,
            'start_date': getattr(self.result, 'start_date', None),
            }

    def transition_order(self):
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        if not self.result.party or not self.result.start_date:
            raise OrderError(gettext('cloud_pricing.msg_order_party_date'))
        lines, currency, _ = self._price()
        subscription = self.subscription(
            self.result.party, self.result.start_date, lines, currency)
        subscription.set_pricing(self.start.compute_plan,
            self.start.sla_tier, self.start.spec, self.start.instance,
            self.result.start_date)
        Subscription.save([subscription])
        self._subscription = subscription.id
        return 'open_'

    @classmethod
    def subscription(cls, party, start_date, lines, currency):
        "A draft subscription of the line items (not saved)"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        services = cls.pricing_services(lines)
        company = Transaction().context.get('company')
        subscription = Subscription(party=party, start_date=start_date)
        if company:
            subscription.company = company
        subscription.on_change_party()
        subscription.currency = currency
        subscription.description = lines[0].group if lines else None
        subscription.lines = [
            cls.subscription_line(subscription, services[item.product],
                item, start_date)
            for item in lines]
        return subscription

    @classmethod
    def pricing_services(cls, lines):
        """{product ID: subscription service} of the line items; OrderError
        names the product IDs without a service"""
        Service = Pool().get('sale.subscription.service')
        codes = sorted({l.product for l in lines})
        services = {s.product.code: s for s in Service.search([
                    ('product.code', 'in', codes)])}
        missing = [c for c in codes if c not in services]
        if missing:
            raise OrderError(gettext('cloud_pricing.msg_order_no_service',
                    products=', '.join(missing)))
        return services

    @classmethod
    def subscription_line(cls, subscription, service, item, start_date):
        "The subscription line of the line item from start_date (not saved)"
        Line = Pool().get('sale.subscription.line')
        line = Line()
        line.subscription = subscription
        line.service = service
        line.start_date = start_date
        line.on_change_service()
        line.quantity = float(item.value)
        line.unit_price = item.unit_price
        line.description = item.description
        line.pricing_key = item.key
        return line

    def do_open_(self, action):
        action['res_id'] = [self._subscription]
        action['views'].reverse()
        return action, {}
