# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Organizations, their origins and their billing entities
(doc/organizations.rst).

Mapped onto Tryton's own records, nothing duplicated:

* a **billing entity** is a party (the company partner, the legal entity
  that receives the invoices) with an address ticked *Invoice* (the invoice
  partner);
* an **organization** is the customer party of the subscriptions, with its
  origin, its billing entity (the subscriptions' invoice party) and its
  sale order (``sale.sale`` of the billing entity);
* an **organization origin** (``cloud_pricing.organization.origin``) holds
  the billing defaults of the organizations created through it.

The billing setup runs when a party gets an origin (on creation or later):
it takes the origin's default billing entity unless one is given, and the
origin's default sale order or a new one created and quoted for the
billing entity (the quotation gives it its number, the reference the
invoices and the resource annotations carry). Once set up, the origin,
the billing entity and the sale order are kept: a client cannot change
them (check_modification).

The engine's invoices follow them: a subscription of an organization is
invoiced to its billing entity at its invoice address, one invoice per
organization or per subscription (the organization's *Subscription
Invoicing*, set from its origin's grouping), each with the sale order's
number as reference and the origin's billing message as comment.
"""
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from subscription_core.subscription import (
    check_guarded_fields, guarded_field_error)
from subscription_core.validation import InputMixin

from .exceptions import OrganizationError

__all__ = ['invoice_address', 'Origin', 'Party', 'Subscription', 'Invoice']

GROUPINGS = {
    # origin's grouping: the engine's party.subscription_invoice_grouping
    'organization': 'party',
    'service': 'subscription',
    }
SETUP_FIELDS = ['organization_origin', 'billing_entity']


def invoice_address(party):
    "The active address of party ticked Invoice (its invoice partner)"
    for address in party.addresses:
        if address.invoice and address.active:
            return address
    return None


class Origin(InputMixin, DeactivableMixin, ModelSQL, ModelView):
    "Organization Origin"
    __string__ = "Organization Origin"
    __name__ = 'cloud_pricing.organization.origin'

    name = fields.Char("Name", required=True,
        help="How organizations come to the provider, e.g. "
        "\"Direct\" or \"Marketplace\".")
    company = fields.Many2One('company.company', "Company", required=True,
        ondelete='CASCADE')
    default_billing_entity = fields.Many2One('party.party',
        "Default Billing Entity", ondelete='RESTRICT',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The legal entity invoiced for a new organization of this "
        "origin that names none: a party with an address ticked Invoice.")
    default_sale = fields.Many2One('sale.sale', "Default Sale Order",
        ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ('party', '=', Eval('default_billing_entity', -1)),
            ('state', 'in', ['quotation', 'confirmed', 'processing',
                    'done']),
            ],
        help="The sale order of every organization of this origin. "
        "Empty: each new organization gets its own, created for its "
        "billing entity.")
    invoice_grouping = fields.Selection([
            ('organization', "By Organization"),
            ('service', "By Service"),
            ], "Invoice Grouping", required=True,
        help="New organizations are invoiced one invoice per organization "
        "and month, or one per service instance (subscription).")
    hide_billing_address = fields.Boolean("Hide Billing Address",
        help="The customer portal does not show the billing address "
        "(billing handled externally). The invoices keep it.")
    billing_message = fields.Text("Billing Message",
        help="Shown by the portal instead of the billing address, and "
        "printed on the invoices of the organizations.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('name_company_unique', Unique(t, t.name, t.company),
                'cloud_pricing.msg_origin_name_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_invoice_grouping(cls):
        return 'organization'

    @classmethod
    def validate_fields(cls, origins, field_names):
        super().validate_fields(origins, field_names)
        cls.check_default_sale(origins, field_names)

    @classmethod
    def check_default_sale(cls, origins, field_names=None):
        "A default sale order belongs to the default billing entity"
        if field_names and not (field_names & {
                    'default_sale', 'default_billing_entity'}):
            return
        for origin in origins:
            if origin.default_sale and (origin.default_sale.party
                    != origin.default_billing_entity):
                raise OrganizationError(gettext(
                        'cloud_pricing.msg_origin_sale_entity',
                        origin=origin.rec_name,
                        sale=origin.default_sale.rec_name))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    organization_origin = fields.Many2One(
        'cloud_pricing.organization.origin', "Organization Origin",
        ondelete='RESTRICT',
        states={
            'readonly': Eval('billing_sale', None) != None,  # noqa: E711
            },
        help="Makes the party an organization: its billing is set up from "
        "the origin's defaults when it is saved.")
    billing_entity = fields.Many2One('party.party', "Billing Entity",
        ondelete='RESTRICT',
        states={
            'readonly': Eval('billing_sale', None) != None,  # noqa: E711
            },
        help="The legal entity invoiced for this organization (empty: the "
        "origin's default).")
    billing_sale = fields.Many2One('sale.sale', "Sale Order", readonly=True,
        ondelete='RESTRICT',
        help="The sale order of all the organization's billing, set by "
        "its billing setup.")

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        for name in SETUP_FIELDS + ['billing_sale']:
            default.setdefault(name)
        return super().copy(parties, default=default)

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        """The billing setup sets the sale order; the origin and the billing
        entity are kept once it is set"""
        super().check_modification(
            mode, parties, values=values, external=external)
        if not external:
            return
        if mode == 'write':
            check_guarded_fields(parties, values,
                {'billing_sale': 'cloud_pricing.msg_party_billing_sale'},
                dict.fromkeys(SETUP_FIELDS,
                    'cloud_pricing.msg_party_billing_kept'),
                lambda p: not p.billing_sale, guarded_field_error)
        elif mode == 'create':
            for party in parties:
                if party.billing_sale:
                    raise guarded_field_error(
                        'cloud_pricing.msg_party_billing_sale', party,
                        'billing_sale')

    @classmethod
    def create(cls, vlist):
        parties = super().create(vlist)
        cls.setup_billing(parties)
        return parties

    @classmethod
    def write(cls, *args):
        super().write(*args)
        parties = sum(args[0:None:2], [])
        cls.setup_billing(cls.browse([p.id for p in parties]))

    @classmethod
    def setup_billing(cls, parties):
        """Set up the billing of the organizations among parties that have
        an origin and no sale order yet"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        todo = [p for p in parties
            if p.organization_origin and not p.billing_sale]
        if not todo:
            return
        to_save, new_sales = [], {}
        for party in todo:
            origin = party.organization_origin
            entity = party.billing_entity or origin.default_billing_entity
            if not entity:
                raise OrganizationError(gettext(
                        'cloud_pricing.msg_organization_no_entity',
                        organization=party.rec_name, origin=origin.rec_name))
            if not entity.active or not invoice_address(entity):
                raise OrganizationError(gettext(
                        'cloud_pricing.msg_entity_no_invoice_address',
                        entity=entity.rec_name))
            party.billing_entity = entity
            party.subscription_invoice_grouping = GROUPINGS[
                origin.invoice_grouping]
            if origin.default_sale:
                party.billing_sale = origin.default_sale
            else:
                new_sales[party] = party.organization_sale(entity, origin)
            to_save.append(party)
        if new_sales:
            with without_check_access():
                Sale.save(list(new_sales.values()))
                Sale.quote(list(new_sales.values()))
            for party, sale in new_sales.items():
                party.billing_sale = sale
        # The server's own writes (not guarded), without setting up again
        with without_check_access():
            super(Party, cls).write(*sum(([[p], {
                                'billing_entity': p.billing_entity.id,
                                'billing_sale': p.billing_sale.id,
                                'subscription_invoice_grouping':
                                p.subscription_invoice_grouping,
                                }] for p in to_save), []))

    def organization_sale(self, entity, origin):
        "A new sale order of the organization for its billing entity"
        pool = Pool()
        Sale = pool.get('sale.sale')
        sale = Sale(company=origin.company, party=entity,
            currency=origin.company.currency)
        sale.on_change_party()
        sale.invoice_address = invoice_address(entity)
        sale.description = gettext('cloud_pricing.msg_organization_sale',
            organization=self.rec_name, origin=origin.rec_name)
        return sale

    @property
    def billing_reference(self):
        "The sale order reference of the organization's billing"
        return self.billing_sale.number if self.billing_sale else None


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @property
    def billing_organization(self):
        "The organization this subscription bills, None for other parties"
        if self.party and self.party.organization_origin:
            return self.party

    @fields.depends('party')
    def on_change_party(self):
        "An organization's subscriptions invoice its billing entity"
        super().on_change_party()
        if self.party and self.party.billing_entity:
            self.invoice_party = self.party.billing_entity
            self.invoice_address = invoice_address(self.party.billing_entity)
            self.reference = self.party.billing_reference

    def _get_billing_invoice(self, cycle, per_service=False):
        invoice = super()._get_billing_invoice(cycle, per_service=per_service)
        organization = self.billing_organization
        if organization:
            invoice.billing_organization = organization
            invoice.reference = organization.billing_reference
            invoice.comment = (
                organization.organization_origin.billing_message)
            if not per_service:
                invoice.description = organization.rec_name
        return invoice


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    billing_organization = fields.Many2One('party.party',
        "Billing Organization", readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The organization whose subscriptions the invoice bills.")

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_organization')
        return super().copy(invoices, default=default)

    @classmethod
    def _billing_invoice_key(cls, subscription, cycle):
        """An organization's subscriptions go on its own invoices, grouped
        per its Subscription Invoicing, even when its billing entity is
        invoiced for other organizations too"""
        key = super()._billing_invoice_key(subscription, cycle)
        organization = subscription.billing_organization
        if not organization:
            return key[:-1] + (None,) + key[-1:]
        per_service = (
            organization.subscription_invoice_grouping == 'subscription')
        return key[:-1] + (organization.id,
            subscription.id if per_service else None)

    @classmethod
    def _billing_invoice_key_of(cls, invoice):
        key = super()._billing_invoice_key_of(invoice)
        organization = invoice.billing_organization
        return key[:-1] + (
            organization.id if organization else None,) + key[-1:]
