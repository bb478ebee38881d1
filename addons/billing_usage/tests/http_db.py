# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Build the database of the HTTP route test (run in a subprocess).

    DB_NAME=<name> python -m billing_usage.tests.http_db <output.json>

Activates billing_usage with the shared billing set-up (restored from
DB_CACHE when the scenarios already built it), a metric of API calls rated
on an on-demand usage service, a running subscription, and user
application keys of ``billing_usage``: one of a Billing Usage Producer, one
of the support user (who may not create events), one of the finance user
and one of the finance manager (the routes of the rows). Writes their
values to output.json.
"""
import datetime
import json
import sys

from proteus import Model
from trytond.tests.tools import activate_modules, set_user

from subscription_core.tests.tools import (
    create_customer, get_monthly_recurrence, setup_billing)
from billing_usage.tests.tools import (
    create_producer, create_usage_service, issue_key)


def build():
    config = activate_modules('billing_usage', setup_billing)
    User = Model.get('res.user')
    Metric = Model.get('billing_usage.metric')
    metric = Metric(code='api_calls', name="API calls", unit="calls")
    metric.aggregation = 'sum'
    metric.field_name = 'calls'
    metric.save()
    service = create_usage_service(
        'requests', "API requests", '0.01', metric, period='day')
    producer_key = issue_key(create_producer())
    support, = User.find([('login', '=', 'support')])
    support_key = issue_key(support)
    finance, = User.find([('login', '=', 'finance')])
    finance_key = issue_key(finance)
    manager, = User.find([('login', '=', 'finance_manager')])
    manager_key = issue_key(manager)
    set_user(finance)
    Subscription = Model.get('sale.subscription')
    subscription = Subscription(party=create_customer("Acme"))
    subscription.start_date = datetime.date(2026, 1, 1)
    subscription.invoice_recurrence = get_monthly_recurrence()
    subscription.lines.new(service=service)
    subscription.click('quote')
    subscription.click('run')
    return {
        'database': config.database_name,
        'subscription': subscription.number,
        'producer_key': producer_key,
        'support_key': support_key,
        'finance_key': finance_key,
        'manager_key': manager_key,
        'customer': subscription.party.code,
        }


if __name__ == '__main__':
    with open(sys.argv[1], 'w') as file:
        json.dump(build(), file)
