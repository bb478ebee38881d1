# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Shared builders for scenarios, the demo data and the benchmarks.

``setup_billing`` is the one setup function scenarios pass to
``activate_modules`` so that ``DB_CACHE`` snapshots a database with a company,
its chart of accounts, fiscal years, the billing users and the services
(and the accounts of credits and compensations).
"""
import datetime
from decimal import Decimal

from proteus import Model, Wizard
from proteus.config import get_config
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    set_fiscalyear_invoice_sequences)
from trytond.modules.company.tests.tools import create_company, get_company
from subscription_core.ir import travel

__all__ = ['setup_billing', 'create_billing_users', 'create_services',
    'get_services', 'get_monthly_recurrence', 'create_customer',
    'BILLING_YEARS', 'USER_PASSWORD',
    'create_payment_term', 'create_dunning_procedure', 'create_payment_method',
    'create_adjustment_accounts', 'get_adjustment_accounts', 'travel',
    'run_billing', 'issue_application_key', 'call_route']

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
    create_adjustment_accounts(config)
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


def create_payment_term(days=14, name=None, config=None):
    "A payment term: everything due days after the invoice date"
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)
    payment_term = PaymentTerm(name=name or f"Net {days} days")
    line = payment_term.lines.new(type='remainder')
    line.relativedeltas.new(days=days)
    payment_term.save()
    return payment_term


def create_dunning_procedure(
        levels, name="Billing Ladder", default=True, config=None):
    """A dunning procedure from a list of levels

    Each level is a dict with ``overdue`` (days after the due date),
    optional ``send_email`` (bool), ``action`` (a billing action type) and
    ``delay`` (days between reaching the level and the action). With
    default, new customers get it (accounting configuration).
    """
    Procedure = Model.get('account.dunning.procedure', config=config)
    procedure = Procedure(name=name)
    for sequence, values in enumerate(levels, 1):
        level = procedure.levels.new()
        level.sequence = sequence
        level.overdue = datetime.timedelta(days=values['overdue'])
        if values.get('send_email'):
            level.send_email = True
            level.email_from = values.get(
                'email_from', 'billing@cloud.example')
        if values.get('action'):
            level.billing_action_type = values['action']
            level.billing_action_delay = datetime.timedelta(
                days=values.get('delay', 0))
    procedure.save()
    if default:
        Configuration = Model.get('account.configuration', config=config)
        configuration = Configuration(1)
        configuration.default_dunning_procedure = procedure
        configuration.save()
    return procedure


def create_payment_method(name="Bank", config=None):
    "A payment method on the cash journal to pay invoices with"
    Journal = Model.get('account.journal', config=config)
    PaymentMethod = Model.get('account.invoice.payment.method', config=config)
    accounts = get_accounts(config=config)
    journal, = Journal.find([('type', '=', 'cash')])
    method = PaymentMethod(name=name)
    method.journal = journal
    method.credit_account = accounts['cash']
    method.debit_account = accounts['cash']
    method.save()
    return method


# code: (name, kind) of the accounts of credits and compensations
ADJUSTMENT_ACCOUNTS = {
    'credit': ("Customer Credits", 'customer_credit'),
    'credit_expiry': ("Expired Customer Credits", 'revenue'),
    'compensation': ("Compensations", 'revenue'),
    }


def create_adjustment_accounts(config):
    """Accounts of credits and compensations, set in the configuration

    Customer credits are a liability (money the customers paid ahead), of
    an account type flagged "Customer Credit", one balance per party;
    expired credits and compensations are revenue accounts.
    """
    AccountType = Model.get('account.account.type', config=config)
    Account = Model.get('account.account', config=config)
    Configuration = Model.get('account.configuration', config=config)
    company = get_company(config=config)
    accounts = get_accounts(company, config=config)

    liabilities, = AccountType.find([
            ('company', '=', company.id),
            ('name', '=', "Liabilities"),
            ])
    credit_type = AccountType(name="Customer Credits", company=company)
    credit_type.parent = liabilities
    credit_type.statement = 'balance'
    credit_type.assets = False
    credit_type.customer_credit = True
    credit_type.save()

    root, = Account.find([
            ('company', '=', company.id),
            ('parent', '=', None),
            ], limit=1)
    created = {}
    for code, (name, kind) in ADJUSTMENT_ACCOUNTS.items():
        account = Account(name=name, code=f'adj-{code}', company=company)
        if kind == 'customer_credit':
            account.parent = root
            account.type = credit_type
        else:
            account.parent = accounts['revenue'].parent
            account.type = accounts['revenue'].type
        # One balance per customer on the credit account
        account.party_required = kind == 'customer_credit'
        account.save()
        created[code] = account

    configuration = Configuration(1)
    configuration.customer_credit_account = created['credit']
    configuration.customer_credit_expiry_account = created['credit_expiry']
    configuration.compensation_account = created['compensation']
    configuration.save()
    return created


def get_adjustment_accounts(config=None):
    "The accounts of create_adjustment_accounts per code"
    Account = Model.get('account.account', config=config)
    return {code: Account.find([('code', '=', f'adj-{code}')])[0]
        for code in ADJUSTMENT_ACCOUNTS}


def run_billing(date, job='all', config=None):
    """Run the billing jobs for date as the current user, on that day

    The Run Billing Jobs wizard refuses a day after the server's date, so
    the scenario travels to date first (``travel``: the server's own clock,
    which no client can move) and runs the wizard for it, as finance does
    each day.
    """
    with travel(date):
        run = Wizard('sale.subscription.billing.run', config=config)
        run.form.date = date
        run.form.job = job
        run.execute('run')


def issue_application_key(user, application, config=None):
    """A validated user application key of application for user (the key
    of an HTTP route, subscription_core.route)"""
    Application = Model.get('res.user.application', config=config)
    key = Application(user=user, application=application)
    key.save()
    return key.key


def call_route(method, path, key, config=None, **kwargs):
    """Call a route (path below /<database>) through trytond's WSGI
    application, in this process (the scenarios' database), with key as
    bearer; kwargs go to werkzeug's client (data, content_type). Return
    (status, JSON answer or None)."""
    import json
    from werkzeug.test import Client
    from trytond.wsgi import app
    if config is None:
        config = get_config()
    headers = {'Authorization': f'Bearer {key}'} if key else {}
    response = Client(app).open(f'/{config.database_name}{path}',
        method=method, headers=headers, **kwargs)
    try:
        answer = json.loads(response.get_data())
    except ValueError:
        answer = None
    return response.status_code, answer
