# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Shared builders of the billing_usage scenarios and HTTP tests."""
import json
from decimal import Decimal

from proteus import Model, Wizard
from proteus.config import get_config

from subscription_core.tests.tools import (
    USER_PASSWORD, call_route, get_services, issue_application_key, travel)

__all__ = ['create_usage_service', 'create_producer', 'issue_key',
    'post_events', 'generate_rows', 'run_hourly', 'get_rows']


def create_usage_service(code, name, price, metric, period='month',
        uom=None, config=None):
    """A usage service priced per unit of metric (as the administrator),
    in uom (by default the unit of the traffic service)"""
    ProductTemplate = Model.get('product.template', config=config)
    Service = Model.get('sale.subscription.service', config=config)
    traffic = get_services(config=config)['traffic']
    template = ProductTemplate(name=name)
    template.default_uom = uom or traffic.product.default_uom
    template.type = 'service'
    template.list_price = Decimal(price)
    template.account_category = traffic.product.account_category
    template.save()
    product, = template.products
    product.suffix_code = code
    product.save()
    service = Service(product=product)
    service.billing_type = 'usage'
    service.billing_period = period
    service.usage_metric = metric
    service.save()
    return service


def create_producer(login='metering', config=None):
    "A user of the group Billing Usage Producer (the metering system)"
    from trytond.modules.company.tests.tools import get_company
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Company = Model.get('company.company', config=config)
    company = get_company(config=config)
    user = User(name="Metering", login=login, password=USER_PASSWORD)
    user.companies.append(Company(company.id))
    user.company = company
    group, = Group.find([('name', '=', "Billing Usage Producer")])
    user.groups.append(group)
    user.save()
    return user


def issue_key(user, config=None):
    "A validated user application key of billing_usage for user"
    return issue_application_key(user, 'billing_usage', config=config)


def post_events(body, key, content_type='application/json', config=None):
    """POST body (JSON) to the route through trytond's WSGI application, in
    this process (the scenarios' database); return (status, JSON answer)"""
    return call_route('POST', '/billing_usage/events', key, config=config,
        data=body if isinstance(body, (str, bytes)) else json.dumps(body),
        content_type=content_type)


def generate_rows(date, config=None):
    "Run the Generate Usage Rows wizard for date, on that day"
    with travel(date):
        generate = Wizard('billing_usage.row.generate', config=config)
        generate.form.date = date
        generate.execute('generate')


def run_hourly(moment, config=None):
    """Run the hourly job Create On-Demand Invoices for moment (a naive UTC
    datetime at the top of an hour) as trytond-cron does: as root, for the
    company of the scenario's user, in this process"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    if config is None:
        config = get_config()
    extras = {}
    with travel(moment.date()):
        while True:
            # As trytond runs a job: a transaction that needs to lock
            # records (or other extras) is started again with them
            with Transaction().start(config.database_name, 0,
                    context={'company': config.context['company']},
                    **extras) as transaction:
                try:
                    Pool().get('sale.subscription').create_on_demand_invoices(
                        moment)
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)
                    continue
                transaction.commit()
                return


def get_rows(path, key, config=None):
    """GET a route of the rows (path after billing_usage/) through trytond's
    WSGI application in this process; return (status, JSON answer)"""
    return call_route('GET', f'/billing_usage/{path}', key, config=config)
