# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.product import price_digits
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .money import _format_quantity
from .tier import PACKAGE, PackageTable, TierError, tiers_from_starts
from .exceptions import PriceTierError
from .subscription import (
    BILLING_PERIODS, BILLING_TYPES, TIER_MODES, BillingTermsMixin,
    check_on_demand_period)
from . import bounds
from .validation import InputMixin, check_bounds


class Service(BillingTermsMixin, InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription.service'

    billing_type = fields.Selection(
        BILLING_TYPES, "Billing Type", required=True,
        help="The default billing type of the subscription lines.")
    billing_period = fields.Selection(
        BILLING_PERIODS, "Billing Period", required=True,
        help="Day and Hour invoice usage on demand, after each day or "
        "hour (UTC), on an invoice of its own.")
    tier_mode = fields.Selection(
        TIER_MODES, "Tier Mode", required=True,
        states={
            'invisible': Eval('billing_type') != 'usage',
            },
        help="Graduated: each tier's price applies to the quantity within "
        "the tier.\n"
        "Volume: each day's quantity at the price of the tier its "
        "cumulative total in the period reaches.\n"
        "Package: each started block of Package Size units of the "
        "cumulative usage in the period at the line's unit price (no "
        "tiers).")
    package_size = fields.Float(
        "Package Size",
        states={
            'invisible': ((Eval('billing_type') != 'usage')
                | (Eval('tier_mode') != PACKAGE)),
            'required': ((Eval('billing_type') == 'usage')
                & (Eval('tier_mode') == PACKAGE)),
            },
        help="The units of a block: the line's unit price is the price of "
        "a block, and a started block is billed whole.")
    tiers = fields.One2Many(
        'sale.subscription.service.tier', 'service', "Price Tiers",
        states={
            'invisible': Eval('billing_type') != 'usage',
            },
        help="Usage prices by consumed quantity per billing period (per "
        "month for on-demand billing); without tiers the line's unit "
        "price applies.")

    @classmethod
    def default_tier_mode(cls):
        return 'graduated'

    @classmethod
    def validate_fields(cls, services, field_names):
        super().validate_fields(services, field_names)
        check_on_demand_period(services, field_names)
        cls.check_package(services, field_names)
        check_bounds(services, field_names, {
                'package_size': bounds.QUANTITY,
                })
        cls.check_tiers(services, field_names)

    @classmethod
    def check_package(cls, services, field_names=None):
        """A usage service priced per package has a positive block size
        (the field is required in that mode)"""
        if field_names and not (field_names & {
                    'billing_type', 'tier_mode', 'package_size'}):
            return
        for service in services:
            if not service.package_mode:
                continue
            if (service.package_size is None
                    or not bounds.is_finite(service.package_size)):
                # Left to the field's required state and check_bounds
                continue
            try:
                service.usage_package
            except TierError as error:
                raise PriceTierError(gettext(
                        'subscription_core.msg_package_size_positive',
                        service=service.rec_name,
                        size=_format_quantity(service.package_size))
                    ) from error

    @classmethod
    def check_tiers(cls, services, field_names=None):
        """The price tiers of a usage service are valid, and a service
        priced per package has none (the line's unit price is a block's)"""
        if field_names and not (
                field_names & {'tiers', 'billing_type', 'tier_mode'}):
            return
        for service in services:
            if service.package_mode and service.tiers:
                raise PriceTierError(gettext(
                        'subscription_core.msg_package_tiers',
                        service=service.rec_name))
            try:
                service.usage_tiers
            except TierError as error:
                if error.code in {
                        'first_not_zero', 'not_ascending', 'negative_price'}:
                    message = gettext(
                        'subscription_core.msg_tier_%s' % error.code,
                        service=service.rec_name)
                else:
                    message = gettext('subscription_core.msg_tier_invalid',
                        service=service.rec_name, error=str(error))
                raise PriceTierError(message) from error

    @property
    def package_mode(self):
        "Whether the service's usage is priced per package of units"
        return self.billing_type == 'usage' and self.tier_mode == PACKAGE

    @property
    def usage_package(self):
        "The tier.PackageTable of a service priced per package, or None"
        if not self.package_mode:
            return None
        return PackageTable(self.package_size)

    @property
    def usage_tiers(self):
        "The Tier of the service, or None without tiers (or per package)"
        if (self.billing_type != 'usage' or not self.tiers
                or self.tier_mode == PACKAGE):
            return None
        return tiers_from_starts(
            (t.from_quantity, t.unit_price) for t in self.tiers)


class ServiceTier(InputMixin, ModelSQL, ModelView):
    "Subscription Service Price Tier"
    __name__ = 'sale.subscription.service.tier'

    service = fields.Many2One(
        'sale.subscription.service', "Service", required=True,
        ondelete='CASCADE')
    from_quantity = fields.Float(
        "From Quantity", required=True,
        help="The tier's price applies from this consumed quantity on.")
    unit_price = fields.Numeric(
        "Unit Price", digits=price_digits, required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('service')
        cls._order.insert(0, ('from_quantity', 'ASC'))

    def get_rec_name(self, name):
        return '%s ≥ %s' % (self.service.rec_name, self.from_quantity)

    @classmethod
    def validate_fields(cls, tiers, field_names):
        pool = Pool()
        Service = pool.get('sale.subscription.service')
        super().validate_fields(tiers, field_names)
        check_bounds(tiers, field_names, {
                'from_quantity': bounds.QUANTITY,
                'unit_price': bounds.PRICE,
                })
        if field_names and not (
                field_names & {'service', 'from_quantity', 'unit_price'}):
            return
        Service.check_tiers(Service.browse({t.service.id for t in tiers}))
