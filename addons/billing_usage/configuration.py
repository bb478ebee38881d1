# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The usage settings of each company, Tryton's way (``account.configuration``):
a singleton whose MultiValue fields are the values of the company of the
context."""
from trytond.model import (
    ModelSingleton, ModelSQL, ModelView, fields)
from trytond.modules.company.model import (
    CompanyMultiValueMixin, CompanyValueMixin)
from trytond.pool import Pool
from trytond.transaction import without_check_access

from subscription_core.validation import InputMixin

BOUNDARY_SELECTIONS = [
    ('start', "By Start Time"),
    ('overlap', "By Overlap"),
    ]
SETTINGS = ['boundary_selection', 'hourly_on_demand']


class Configuration(
        InputMixin, ModelSingleton, ModelSQL, ModelView,
        CompanyMultiValueMixin):
    "Usage Configuration"
    __name__ = 'billing_usage.configuration'
    __string__ = "Usage Configuration"

    boundary_selection = fields.MultiValue(fields.Selection(
            BOUNDARY_SELECTIONS, "Period Boundary Selection",
            help="Which periods (days, hours) a usage event that covers a "
            "range [timestamp, end) counts in.\n"
            "By Start Time: wholly in the period of its timestamp.\n"
            "By Overlap: once in each period it overlaps, pro rata to the "
            "time it overlaps it."))
    hourly_on_demand = fields.MultiValue(fields.Boolean(
            "Hourly On-Demand Invoicing",
            help="Usage lines billed per hour get hourly usage rows, made "
            "and invoiced at the top of each hour (UTC). Without it, "
            "on-demand usage is invoiced per day."))

    @classmethod
    def multivalue_model(cls, field):
        if field in SETTINGS:
            return Pool().get('billing_usage.configuration.company')
        return super().multivalue_model(field)

    @classmethod
    def default_boundary_selection(cls, **pattern):
        return 'start'

    @classmethod
    def default_hourly_on_demand(cls, **pattern):
        return False

    @classmethod
    def get_for(cls, company):
        """The settings of company: its value record, or a new one with the
        defaults (not saved)"""
        pool = Pool()
        Value = pool.get('billing_usage.configuration.company')
        company_id = company.id if hasattr(company, 'id') else company
        with without_check_access():
            values = Value.search([('company', '=', company_id)], limit=1)
        if values:
            return values[0]
        return Value(company=company_id,
            boundary_selection=cls.default_boundary_selection(),
            hourly_on_demand=cls.default_hourly_on_demand())


class ConfigurationCompany(InputMixin, ModelSQL, CompanyValueMixin):
    "Usage Configuration per Company"
    __name__ = 'billing_usage.configuration.company'
    __string__ = "Usage Configuration per Company"

    boundary_selection = fields.Selection(
        BOUNDARY_SELECTIONS, "Period Boundary Selection", required=True)
    hourly_on_demand = fields.Boolean("Hourly On-Demand Invoicing")

    @classmethod
    def default_boundary_selection(cls):
        return 'start'

    @classmethod
    def default_hourly_on_demand(cls):
        return False
