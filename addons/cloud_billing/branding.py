# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.transaction import Transaction

from . import email_layout
from .exceptions import BrandingError
from subscription_core.validation import InputMixin


class Branding(InputMixin, ModelSQL, ModelView):
    "Billing Email Branding"
    __name__ = 'sale.subscription.billing_email.branding'

    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')
    logo = fields.Binary(
        "Logo", filename='logo_filename',
        help="A PNG, JPEG or GIF image shown at the top of the emails "
        "(about 48 pixels high).")
    logo_filename = fields.Char("Logo Filename")
    primary_color = fields.Char(
        "Primary Colour", required=True,
        help="A hex colour such as #1f4e79 for the header and the lines.")
    footer = fields.Text(
        "Footer", translate=True,
        help="Printed at the bottom of every email: the company's address, "
        "registration, bank details.")
    payment_line = fields.Text(
        "Payment and Contact Line", translate=True,
        help="How to pay and whom to contact; the billing email texts "
        "show it as {payment_line}.")
    email_from = fields.Char(
        "From",
        help="The sender of the billing emails, e.g. "
        "\"Billing <billing@example.com>\". "
        "Leave empty for the address of the server configuration.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_unique', Unique(t, t.company),
                'cloud_billing.msg_branding_company_unique'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_primary_color(cls):
        return email_layout.DEFAULT_COLOR

    @property
    def company_name(self):
        return self.company.rec_name if self.company else ''

    def get_rec_name(self, name):
        return self.company_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('company.rec_name',) + tuple(clause[1:])]

    @classmethod
    def validate_fields(cls, brandings, field_names):
        super().validate_fields(brandings, field_names)
        cls.check_primary_color(brandings, field_names)
        cls.check_logo(brandings, field_names)

    @classmethod
    def check_primary_color(cls, brandings, field_names=None):
        if field_names and 'primary_color' not in field_names:
            return
        for branding in brandings:
            try:
                email_layout.normalize_color(branding.primary_color)
            except ValueError:
                raise BrandingError(gettext(
                        'cloud_billing.msg_branding_color',
                        color=branding.primary_color,
                        branding=branding.company_name))

    @classmethod
    def check_logo(cls, brandings, field_names=None):
        if field_names and 'logo' not in field_names:
            return
        for branding in brandings:
            if not branding.logo:
                continue
            if len(branding.logo) > email_layout.LOGO_MAX_SIZE:
                raise BrandingError(gettext(
                        'cloud_billing.msg_branding_logo_size',
                        branding=branding.company_name,
                        size=email_layout.LOGO_MAX_SIZE // 1024))
            if not email_layout.image_subtype(branding.logo):
                raise BrandingError(gettext(
                        'cloud_billing.msg_branding_logo_type',
                        branding=branding.company_name))

    @classmethod
    def get_for_company(cls, company):
        "The branding of the company, or a default one (not saved)"
        brandings = cls.search([
                ('company', '=', company.id if company else None),
                ], limit=1)
        if brandings:
            branding, = brandings
            return branding
        return cls(
            company=company, primary_color=cls.default_primary_color(),
            logo=None, footer=None, payment_line=None, email_from=None)

    def get_layout(self, company_name):
        "The values the layout needs: colour, footer, logo, company name"
        return {
            'color': email_layout.normalize_color(
                self.primary_color or email_layout.DEFAULT_COLOR),
            'footer': self.footer or company_name,
            'logo': bytes(self.logo) if self.logo else None,
            'company': company_name,
            }
