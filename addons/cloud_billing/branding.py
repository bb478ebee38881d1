# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The branding of the billing emails of each company: a singleton whose
values are those of the company of the context (as configuration.py)."""
from trytond.i18n import gettext
from trytond.model import (
    ModelSingleton, ModelSQL, ModelView, fields)
from trytond.modules.company.model import (
    CompanyMultiValueMixin, CompanyValueMixin)
from trytond.pool import Pool

from . import email_layout
from .configuration import (
    CompanySettingsMixin, company_value, multivalue_default,
    multivalue_field)
from .exceptions import BrandingError
from subscription_core.validation import InputMixin

BRANDING_FIELDS = ['logo', 'logo_filename', 'primary_color', 'footer',
    'payment_line', 'email_from']


class BrandingCompany(
        CompanySettingsMixin, InputMixin, ModelSQL, CompanyValueMixin):
    "Billing Email Branding of a Company"
    __name__ = 'sale.subscription.billing_email.branding.company'
    _singleton = 'sale.subscription.billing_email.branding'
    _settings = BRANDING_FIELDS
    _company_unique_message = 'cloud_billing.msg_branding_company_unique'

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
    def default_primary_color(cls):
        return email_layout.DEFAULT_COLOR

    @property
    def company_name(self):
        return self.company.rec_name if self.company else ''

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

    def get_layout(self, company_name):
        "The values the layout needs: colour, footer, logo, company name"
        return {
            'color': email_layout.normalize_color(
                self.primary_color or email_layout.DEFAULT_COLOR),
            'footer': self.footer or company_name,
            'logo': bytes(self.logo) if self.logo else None,
            'company': company_name,
            }


class Branding(
        InputMixin, ModelSingleton, ModelSQL, ModelView,
        CompanyMultiValueMixin):
    "Billing Email Branding"
    __name__ = 'sale.subscription.billing_email.branding'

    logo = multivalue_field(BrandingCompany, 'logo')
    logo_filename = multivalue_field(BrandingCompany, 'logo_filename')
    primary_color = multivalue_field(BrandingCompany, 'primary_color')
    footer = multivalue_field(BrandingCompany, 'footer')
    payment_line = multivalue_field(BrandingCompany, 'payment_line')
    email_from = multivalue_field(BrandingCompany, 'email_from')

    @classmethod
    def multivalue_model(cls, field):
        if field in BRANDING_FIELDS:
            return Pool().get(
                'sale.subscription.billing_email.branding.company')
        return super().multivalue_model(field)

    default_primary_color = multivalue_default('primary_color')

    @classmethod
    def get_for_company(cls, company):
        "The branding values of the company, or the defaults (not saved)"
        return company_value(cls, 'primary_color', company)
