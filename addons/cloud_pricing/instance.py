# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The priced instance of a subscription and its spec changes.

A subscription ordered from *Price an Instance* keeps what it was priced
from (service, provider, compute plan, SLA tier, spec, instance name) and
each of its lines the key of the line item it bills. *Change Instance Spec*
prices the new spec from the catalog and applies the difference through the
engine's limit changes from a day (``line_changes.py``, doc/spec_change.rst):
the period is then prorated by days as for any limit.

*Billing Annotations* shows, read-only, what the instance's resource
carries for downstream billing: its line items in force and the
organization's sale order reference (``pricing.annotations``).
"""
import datetime
import json
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.wizard import Button, StateTransition, StateView, Wizard

from subscription_core.validation import InputMixin, WizardInputMixin

from . import pricing
from .catalog import get_option
from .exceptions import SpecChangeError
from .line_changes import CurrentLine, line_changes
from .price import instance_price

__all__ = ['Subscription', 'Line', 'ChangeSpecStart', 'ChangeSpec']

_PRICING_FIELDS = ['pricing_service', 'pricing_provider', 'pricing_plan',
    'pricing_sla', 'pricing_spec', 'pricing_instance', 'pricing_date']


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    pricing_service = fields.Char("Priced Service", readonly=True)
    pricing_provider = fields.Char("Provider", readonly=True)
    pricing_plan = fields.Many2One('cloud_pricing.compute_plan',
        "Compute Plan", readonly=True, context={'active_test': False})
    pricing_sla = fields.Many2One('cloud_pricing.sla_tier', "SLA Tier",
        readonly=True, context={'active_test': False})
    pricing_spec = fields.Text("Instance Spec", readonly=True)
    pricing_instance = fields.Char("Instance", readonly=True)
    pricing_date = fields.Date("Priced From", readonly=True,
        help="The day the current spec is billed from: the start date, "
        "or the day of the last spec change.")
    billing_annotations = fields.Function(fields.Text(
            "Billing Annotations",
            help="The resource annotations of the instance for downstream "
            "billing: its line items in force and the organization's sale "
            "order reference."),
        'get_billing_annotations')

    @classmethod
    def copy(cls, subscriptions, default=None):
        default = default.copy() if default is not None else {}
        for name in _PRICING_FIELDS:
            default.setdefault(name)
        return super().copy(subscriptions, default=default)

    @classmethod
    def _server_fields(cls):
        "What a subscription was priced from: set by the pricing wizards"
        fields_ = super()._server_fields()
        for name in _PRICING_FIELDS:
            fields_[name] = 'subscription_core.msg_subscription_field_engine'
        return fields_

    @classmethod
    def check_modification(
            cls, mode, subscriptions, values=None, external=False):
        super().check_modification(
            mode, subscriptions, values=values, external=external)
        if external and mode == 'create':
            for subscription in subscriptions:
                for name in _PRICING_FIELDS:
                    if getattr(subscription, name, None):
                        raise SpecChangeError(gettext(
                                'subscription_core.'
                                'msg_subscription_field_engine',
                                field=subscription.fields_get(
                                    [name])[name]['string'],
                                record=subscription.rec_name))

    def get_billing_annotations(self, name):
        if not self.pricing_plan:
            return None
        return json.dumps(self.pricing_annotations(), indent=1,
            sort_keys=True)

    def pricing_annotations(self):
        """The resource annotations of the priced instance: the lines in
        force on the day its current spec is billed from (the instance as
        it now runs, whatever today is), in the order of the kinds, and
        the sale order of the organization it bills"""
        date = self.pricing_date
        kinds = {k: i for i, k in enumerate(pricing.KINDS)}
        lines = sorted((l for l in self.lines
                if l.pricing_key and l.quantity
                and l.start_date and l.start_date <= date
                and (not l.end_date or l.end_date >= date)),
            key=lambda l: (kinds.get(l.pricing_key.split(':')[0],
                    len(kinds)), l.id))
        items = [pricing.AnnotationItem(l.service.product.code,
                Decimal(str(l.quantity)), l.description or '',
                self.pricing_instance or '')
            for l in lines]
        organization = self.billing_organization
        return pricing.annotations(items,
            organization.billing_reference if organization else None,
            domain=get_option('annotation_domain',
                default=pricing.ANNOTATION_DOMAIN))

    def set_pricing(self, plan, tier, spec, instance, date):
        "Keep the pricing inputs of the instance, billed from date"
        self.pricing_service = plan.service
        self.pricing_provider = plan.provider
        self.pricing_plan = plan
        self.pricing_sla = tier
        self.pricing_spec = spec
        self.pricing_instance = instance
        self.pricing_date = date


class Line(metaclass=PoolMeta):
    __name__ = 'sale.subscription.line'

    pricing_key = fields.Char("Line Item", readonly=True,
        help="The line item of the priced instance this line bills.")

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('pricing_key')
        return super().copy(lines, default=default)

    @classmethod
    def _server_fields(cls):
        fields_ = super()._server_fields()
        fields_['pricing_key'] = 'subscription_core.msg_line_field_engine'
        return fields_


class ChangeSpecStart(InputMixin, ModelView):
    "Change Instance Spec"
    __string__ = "Change Instance Spec"
    __name__ = 'cloud_pricing.change_spec.start'

    subscription = fields.Many2One('sale.subscription', "Subscription",
        readonly=True, required=True)
    service = fields.Char("Service", readonly=True)
    provider = fields.Char("Provider", readonly=True)
    compute_plan = fields.Many2One('cloud_pricing.compute_plan',
        "Compute Plan", required=True,
        domain=[
            ('service', '=', Eval('service', '')),
            ('provider', '=', Eval('provider', '')),
            ])
    sla_tier = fields.Many2One('cloud_pricing.sla_tier', "SLA Tier",
        required=True)
    spec = fields.Text("Instance Spec", required=True, size=100_000,
        help="The instance's new spec as a JSON document.")
    date = fields.Date("From", required=True,
        help="The new spec is billed from this day on (today at the "
        "latest).")
    reason = fields.Char("Reason", size=255)


class ChangeSpec(WizardInputMixin, Wizard):
    "Change Instance Spec"
    __string__ = "Change Instance Spec"
    __name__ = 'cloud_pricing.change_spec'
    start = StateView('cloud_pricing.change_spec.start',
        'cloud_pricing.change_spec_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Change", 'change', 'tryton-ok', default=True),
            ])
    change = StateTransition()

    def _subscription(self):
        subscription = self.record
        if not subscription or not subscription.pricing_plan:
            raise SpecChangeError(gettext(
                    'cloud_pricing.msg_spec_change_not_priced',
                    subscription=subscription.rec_name
                    if subscription else ''))
        if subscription.state != 'running':
            raise SpecChangeError(gettext(
                    'cloud_pricing.msg_spec_change_running',
                    subscription=subscription.rec_name))
        return subscription

    def default_start(self, fields):
        Date = Pool().get('ir.date')
        subscription = self._subscription()
        return {
            'subscription': subscription.id,
            'service': subscription.pricing_service,
            'provider': subscription.pricing_provider,
            'compute_plan': subscription.pricing_plan.id,
            'sla_tier': subscription.pricing_sla.id,
            'spec': subscription.pricing_spec,
            'date': Date.today(),
            }

    def transition_change(self):
        self.apply(self._subscription(), self.start.compute_plan,
            self.start.sla_tier, self.start.spec, self.start.date,
            self.start.reason)
        return 'end'

    @classmethod
    def check_date(cls, subscription, date):
        "From after the last pricing to today (the server's day) included"
        Date = Pool().get('ir.date')
        today = Date.today()
        if date is None or date > today or date <= subscription.pricing_date:
            raise SpecChangeError(gettext(
                    'cloud_pricing.msg_spec_change_date',
                    subscription=subscription.rec_name, date=date,
                    priced=subscription.pricing_date, today=today))

    @classmethod
    def current_lines(cls, subscription, date):
        "The lines of the instance in force on date, as CurrentLines"
        return [CurrentLine(l.pricing_key, l.service.product.code,
                l.quantity, l.unit_price, ref=l)
            for l in subscription.lines
            if l.pricing_key and (not l.end_date or l.end_date >= date)]

    @classmethod
    def apply(cls, subscription, plan, tier, spec, date, reason=None):
        """Price spec on plan and tier and bill the difference from date

        Everything is checked before anything is written.
        """
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Price = pool.get('cloud_pricing.price', type='wizard')
        Subscription = pool.get('sale.subscription')
        cls.check_date(subscription, date)
        if (plan.service != subscription.pricing_service
                or plan.provider != subscription.pricing_provider):
            raise SpecChangeError(gettext(
                    'cloud_pricing.msg_spec_change_service',
                    subscription=subscription.rec_name,
                    service=subscription.pricing_service,
                    provider=subscription.pricing_provider))
        items, currency, _ = instance_price(
            plan, tier, spec, subscription.pricing_instance)
        if currency != subscription.currency:
            raise SpecChangeError(gettext(
                    'cloud_pricing.msg_spec_change_currency',
                    subscription=subscription.rec_name,
                    currency=currency.code))
        current = cls.current_lines(subscription, date)
        changes = line_changes(current, items)
        if not changes:
            raise SpecChangeError(gettext(
                    'cloud_pricing.msg_spec_change_nothing',
                    subscription=subscription.rec_name))
        services = Price.pricing_services(changes.added)
        # The engine's checks of every line the change touches, first
        ended = {l.key for l in changes.ended}
        for line, quantity in changes.changed:
            Line.check_limit_change(line.ref, quantity, date)
        for line in changes.ended:
            Line.check_limit_change(line.ref, 0, date)
        for line in current:
            if line.key not in ended:
                Line.check_limit_change(line.ref, line.ref.quantity, date)

        for line, quantity in changes.changed:
            Line.request_limit_change(
                line.ref, float(quantity), date, reason=reason)
        for line in changes.ended:
            Line.request_limit_change(line.ref, 0, date, reason=reason)
        if changes.ended:
            Line.write([l.ref for l in changes.ended], {
                    'end_date': date - datetime.timedelta(days=1)})
        Line.save([Price.subscription_line(subscription,
                    services[item.product], item, date)
                for item in changes.added])
        subscription = Subscription(subscription.id)
        subscription.set_pricing(plan, tier, spec,
            subscription.pricing_instance, date)
        subscription.save()
        return changes
