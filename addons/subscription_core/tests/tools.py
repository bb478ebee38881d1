# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Shared builders for scenarios, the demo data and the benchmarks.

``setup_billing`` is the one setup function scenarios pass to
``activate_modules`` so that ``DB_CACHE`` snapshots a database with a company,
its chart of accounts, fiscal years, the billing users and the services.
"""
import datetime
from decimal import Decimal

from proteus import Model
from proteus.config import get_config
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    set_fiscalyear_invoice_sequences)
from trytond.modules.company.tests.tools import create_company, get_company

__all__ = ['setup_billing', 'create_billing_users', 'create_services',
    'get_services', 'get_monthly_recurrence', 'create_customer',
    'BILLING_YEARS', 'USER_PASSWORD']

# Scenarios travel in time inside these fiscal years.
BILLING_YEARS = (2025, 2026, 2027)
USER_PASSWORD = 'billing-demo'

# login: (name, group names)
BILLING_USERS = {
    'finance': ("Finance User", [
            "Billing Finance", "Sales", "Accounting",
            ]),
    'finance_manager': ("Finance Manager", [
            "Billing Finance", "Billing Finance Manager", "Sales",
            "Accounting", "Accounting Administration",
            ]),
    'support': ("Support User", [
            "Billing Support",
            ]),
    }

# code: (name, unit name, list price, billing type)
SERVICES = {
    'vcpu': ("vCPU", "Unit", Decimal('10.00'), 'limit'),
    'ram': ("RAM GiB", "Unit", Decimal('4.00'), 'limit'),
    'instance': ("Instance", "Unit", Decimal('2.00'), 'limit'),
    'support': ("Support plan", "Unit", Decimal('50.00'), 'fixed'),
    'setup': ("Setup fee", "Unit", Decimal('120.00'), 'one_time'),
    'traffic': ("Traffic GB", "Unit", Decimal('0.05'), 'usage'),
    }


def setup_billing(config, years=BILLING_YEARS):
    "Company, chart, fiscal years, billing users and services"
    create_company(config=config)
    create_chart(config=config)
    company = get_company(config=config)
    for year in years:
        fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(
                company, (datetime.date(year, 1, 1), datetime.date(year, 12, 31)),
                config=config), config=config)
        fiscalyear.click('create_period')
    create_billing_users(config)
    create_services(config)
    _mark_config_wizard_done(config)


def _mark_config_wizard_done(config):
    Item = Model.get('ir.module.config_wizard.item', config=config)
    items = Item.find([('state', '!=', 'done')])
    for item in items:
        item.state = 'done'
    Item.save(items)


def create_billing_users(config, password=USER_PASSWORD):
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Company = Model.get('company.company', config=config)
    company = get_company(config=config)
    users = {}
    for login, (name, groups) in BILLING_USERS.items():
        user = User(name=name, login=login, password=password)
        user.email = f'{login}@cloud.example'
        user.companies.append(Company(company.id))
        user.company = company
        for group_name in groups:
            group, = Group.find([('name', '=', group_name)])
            user.groups.append(group)
        users[login] = user
    User.save(list(users.values()))
    return users


def create_services(config):
    ProductCategory = Model.get('product.category', config=config)
    ProductTemplate = Model.get('product.template', config=config)
    Service = Model.get('sale.subscription.service', config=config)
    Uom = Model.get('product.uom', config=config)
    accounts = get_accounts(config=config)

    category = ProductCategory(name="Cloud Services")
    category.accounting = True
    category.account_revenue = accounts['revenue']
    category.save()

    services = {}
    for code, (name, uom, price, billing_type) in SERVICES.items():
        template = ProductTemplate(name=name)
        template.default_uom, = Uom.find([('name', '=', uom)])
        template.type = 'service'
        template.list_price = price
        template.account_category = category
        template.save()
        product, = template.products
        product.suffix_code = code
        product.save()
        service = Service(product=product)
        if hasattr(service, 'billing_type'):
            service.billing_type = billing_type
        service.save()
        services[code] = service
    get_monthly_recurrence(config)
    return services


def get_services(config=None):
    Service = Model.get('sale.subscription.service', config=config)
    return {s.product.code: s for s in Service.find([])}


def get_monthly_recurrence(config=None):
    RecurrenceRuleSet = Model.get(
        'sale.subscription.recurrence.rule.set', config=config)
    monthly = RecurrenceRuleSet.find([('name', '=', "Monthly")])
    if monthly:
        return monthly[0]
    monthly = RecurrenceRuleSet(name="Monthly")
    rule, = monthly.rules
    rule.freq = 'monthly'
    rule.interval = 1
    monthly.save()
    return monthly


def create_customer(name, email=None, config=None):
    Party = Model.get('party.party', config=config)
    party = Party(name=name)
    party.addresses[0].street = "1 Cloud Street"
    if email:
        party.contact_mechanisms.new(type='email', value=email)
    party.save()
    return party
