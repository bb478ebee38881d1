"""Build a database with the modules activated and the demo data.

    python scripts/demo_data.py --database demo [--reset]

Used by `make demo` and by the browser test. The database backend and its
location come from the trytond configuration (TRYTOND_CONFIG and the
TRYTOND_* environment variables), so the same script builds an SQLite file or
a PostgreSQL database.
"""
import argparse
import datetime
import os
import sys
from decimal import Decimal

from trytond_admin import trytond_admin

ADMIN_PASSWORD = 'admin-demo'
MODULES = ['cloud_billing', 'cloud_pricing', 'billing_usage']

# name, e-mail, [(service code, quantity)], start (months ago), story
# The story says what the customer pays and so where the engine's own jobs
# leave it (see GRACE_DAY).
CUSTOMERS = [
    ("Acme Hosting", 'billing@acme.example',
        [('vcpu', 8), ('ram', 16), ('instance', 2)], 5, 'active'),
    ("Globex Corporation", 'ap@globex.example',
        [('vcpu', 4), ('ram', 8), ('instance', 1), ('support', 1)], 3,
        'active'),
    ("Initech", 'finance@initech.example',
        [('vcpu', 2), ('ram', 4), ('instance', 1)], 3, 'grace'),
    ("Umbrella Labs", 'accounts@umbrella.example',
        [('vcpu', 16), ('ram', 64), ('instance', 4)], 3, 'shelved'),
    ("Stark Analytics", 'billing@stark.example',
        [('vcpu', 6), ('ram', 12), ('instance', 2)], 1, 'active'),
    ("Soylent Systems", 'ap@soylent.example',
        [('vcpu', 4), ('ram', 8), ('instance', 2)], 3, 'pending_deletion'),
    ("Wayne Cloudworks", 'billing@wayne.example',
        [('vcpu', 8), ('ram', 32), ('instance', 2)], 3, 'deleted'),
    ("Hooli", 'ap@hooli.example',
        [('vcpu', 2), ('ram', 4), ('instance', 1)], 3, 'held'),
    ("Vandelay Industries", 'billing@vandelay.example',
        [('vcpu', 2), ('ram', 4), ('instance', 1)], 3, 'held'),
    ("Cyberdyne Systems", 'ap@cyberdyne.example',
        [('vcpu', 4), ('ram', 8), ('instance', 1), ('backup', 50)], 2,
        'billing_error'),
    ]
# Active customers pay each invoice five days after its date; the others
# never pay. Their first invoice falls due so that the ladder puts them in
# grace this many days before today; the grace workflow (defaults: shelve
# 2 days after grace, pending deletion 7 days before and deletion 14 days
# after the shelve) then takes each to its status.
GRACE_DAY = {
    'grace': 0,
    'held': 2,
    'shelved': 4,
    'pending_deletion': 12,
    'deleted': 22,
    }
# The demo caps the shelves and deletions at one per 24 hours, so the two
# shelves due today ('held': Hooli and Vandelay) wait in a held batch for a
# finance manager to release them; every other day has one such action.
DESTRUCTIVE_LIMIT = 1
# The demo cloud (demo_cloud.py) keeps deleted servers restorable for 14
# days (Nova's reclaim_instance_interval). Nova deletes a shelved
# (offloaded) server at once, so the customer deleted ('deleted': Wayne)
# unshelves its server itself while pending deletion, as the end-to-end
# test's customer does: the deletion soft-deletes it, and the dashboard
# shows until when a payment restores it ("Restorable Until").
# 'billing_error': a service whose product an administrator left without
# an account category (so without revenue account): the customer's lines
# fail alone each run and are listed in Billing Errors.
BAD_SERVICE = ('backup', "Backup GB", Decimal('0.05'))
# Invoices of active customers are due 30 days after their date.
PAYMENT_DAYS = 30
LADDER = [
    {'overdue': 1, 'action': 'grace'},
    ]
# DEMO ONLY: the servers of each customer's project in the in-memory demo
# cloud (scripts/demo_cloud.py), synced into cloud resources.
SERVERS = {
    "Acme Hosting": [('web-1', 'm1.small'), ('web-2', 'm1.small')],
    "Globex Corporation": [('erp', 'm1.medium')],
    "Initech": [('tps-reports', 'm1.tiny')],
    "Umbrella Labs": [('lab-1', 'm1.large'), ('lab-2', 'm1.large'),
        ('lab-db', 'm1.xlarge')],
    "Stark Analytics": [('jarvis', 'm1.medium')],
    "Soylent Systems": [('green-1', 'm1.small'), ('green-2', 'm1.small')],
    "Wayne Cloudworks": [('batcomputer', 'm1.xlarge')],
    "Hooli": [('nucleus', 'm1.small')],
    "Vandelay Industries": [('latex', 'm1.tiny')],
    "Cyberdyne Systems": [('skynet', 'm1.medium')],
    }


def database_exists(name):
    from trytond import backend
    # Connect to the server's default database: on PostgreSQL, connecting to
    # a database that does not exist yet fails.
    database = backend.Database().connect()
    return name in database.list()


def create_database(name, reset=False):
    from trytond import backend
    from trytond.transaction import Transaction
    exists = database_exists(name)
    if exists and not reset:
        return False
    with Transaction().start(
            None, 0, close=True, autocommit=True) as transaction:
        database = backend.Database(name)
        if exists:
            database.drop(transaction.connection, name)
        database.create(transaction.connection, name)
    return True


def _months(start, today):
    "The first day of each month after start up to today"
    from dateutil.relativedelta import relativedelta
    month = start + relativedelta(months=1, day=1)
    while month <= today:
        yield month
        month += relativedelta(months=1)


def load_demo_data(database, today=None):
    """Customers in every cloud billing status, produced by the engine's own
    jobs run for past dates (clock travel) on an in-memory demo cloud"""
    from proteus import Model, config as pconfig
    from subscription_core.tests.tools import (
        create_customer, create_dunning_procedure, create_payment_method,
        create_payment_term, run_billing, setup_billing)
    from cloud_billing.tests.tools import MailCatcher
    from dateutil.relativedelta import relativedelta

    import demo_cloud

    today = today or datetime.date.today()
    config = pconfig.set_trytond(database=database)
    setup_billing(config, years=(today.year - 1, today.year, today.year + 1))
    # DEMO ONLY: every call of this process reaches the in-memory cloud.
    demo_cloud.register()
    config._context.update(demo_cloud.CONTEXT)

    Configuration = Model.get('cloud_billing.configuration')
    configuration = Configuration()
    configuration.remote_wait = 5
    configuration.destructive_limit = DESTRUCTIVE_LIMIT
    configuration.save()
    create_dunning_procedure(LADDER, name="Cloud Billing Ladder")
    payment_method = create_payment_method()
    cloud = demo_cloud.create_cloud()

    Subscription = Model.get('sale.subscription')
    Service = Model.get('sale.subscription.service')
    services = {s.product.code: s for s in Service.find([])}
    services[BAD_SERVICE[0]] = _bad_service(*BAD_SERVICE)
    terms = {}
    subscriptions = {}
    for name, email, lines, months_ago, story in CUSTOMERS:
        party = create_customer(name, email=email)
        start = today - relativedelta(months=months_ago, day=1)
        if story in GRACE_DAY:
            # The first invoice (the first of the next month) falls due
            # the day before the ladder's grace day.
            first_invoice = start + relativedelta(months=1)
            days = (today - datetime.timedelta(days=GRACE_DAY[story] + 1)
                - first_invoice).days
        else:
            days = PAYMENT_DAYS
        if days not in terms:
            terms[days] = create_payment_term(days)
        party.customer_payment_term = terms[days]
        party.save()
        subscription = Subscription(party=party)
        subscription.description = f"{name} cloud project"
        subscription.start_date = start
        subscription.billing_model = 'monthly'
        subscription.cloud = cloud
        subscription.project_id = demo_cloud.project_id(name)
        for code, quantity in lines:
            line = subscription.lines.new(service=services[code])
            line.quantity = quantity
        subscription.save()
        subscriptions[name] = subscription
        for server, flavor in SERVERS.get(name, []):
            demo_cloud.CLOUD.add_server(
                subscription.project_id, name=server, flavor=flavor)
    Subscription.click(list(subscriptions.values()), 'quote')
    Subscription.click(list(subscriptions.values()), 'run')
    # The queued sync runs at commit in this process, where the demo
    # cloud lives.
    Subscription.click(list(subscriptions.values()), 'sync_resources')

    # Clock travel: the engine's jobs run on each day something happens:
    # the first of each month (billing run), then every day a billing
    # action is planned for (the steps of the grace workflow plan each
    # other), up to today. The emails go to a mail catcher of this process.
    Invoice = Model.get('account.invoice')
    Action = Model.get('sale.subscription.billing.action')
    first = min(s.start_date for s in subscriptions.values())
    days = set(_months(first, today))
    for story, grace_day in GRACE_DAY.items():
        days.add(today - datetime.timedelta(days=grace_day))
    done = set()
    with MailCatcher():
        while days:
            day = min(days)
            days.discard(day)
            done.add(day)
            run_billing(day)
            _unshelve_pending_deletion(subscriptions, demo_cloud)
            if day.day == 1:
                _pay_invoices(Invoice, subscriptions, day, payment_method,
                    today)
            for action in Action.find([
                        ('state', '=', 'planned'),
                        ('planned_date', '>', day),
                        ('planned_date', '<=', today),
                        ]):
                if action.planned_date not in done:
                    days.add(action.planned_date)
    return config


def _unshelve_pending_deletion(subscriptions, demo_cloud):
    "The 'deleted' customer unshelves its servers once pending deletion"
    for name, _, _, _, story in CUSTOMERS:
        if story != 'deleted':
            continue
        subscription = subscriptions[name]
        subscription.reload()
        if subscription.billing_status == 'pending_deletion':
            demo_cloud.unshelve_project(subscription.project_id)


def _bad_service(code, name, price):
    "A service whose product has no account category (no revenue account)"
    from proteus import Model
    Template = Model.get('product.template')
    Uom = Model.get('product.uom')
    Service = Model.get('sale.subscription.service')
    template = Template(name=name, type='service', list_price=price)
    template.default_uom, = Uom.find([('name', '=', "Unit")])
    template.save()
    product, = template.products
    product.code = code
    product.save()
    service = Service(product=product, billing_type='limit')
    service.save()
    return service


def _pay_invoices(Invoice, subscriptions, date, payment_method, today):
    "Active customers pay the invoices of date five days later"
    paid_on = date + datetime.timedelta(days=5)
    if paid_on > today:
        return
    for name, _, _, _, story in CUSTOMERS:
        if story in GRACE_DAY:
            continue
        party = subscriptions[name].party
        for invoice in Invoice.find([
                    ('party', '=', party.id),
                    ('invoice_date', '=', date),
                    ('state', '=', 'posted'),
                    ]):
            pay = invoice.click('pay')
            pay.form.payment_method = payment_method
            pay.form.date = paid_on
            pay.execute('choice')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--reset', action='store_true',
        help="drop and rebuild the database if it exists")
    options = parser.parse_args(argv)

    from trytond import config
    config.update_etc(os.environ.get('TRYTOND_CONFIG'))
    if not create_database(options.database, reset=options.reset):
        print(f"database {options.database!r} exists: reused "
            "(RESET=1 rebuilds it)")
        return 0
    print(f"building database {options.database!r} "
        "(activating modules takes about a minute)")
    trytond_admin('-d', options.database, '--all',
        '--email', 'admin@cloud.example', password=ADMIN_PASSWORD)
    trytond_admin('-d', options.database, '-u', *MODULES,
        '--activate-dependencies', password=ADMIN_PASSWORD)
    load_demo_data(options.database)
    print(f"database {options.database!r} ready")
    return 0


if __name__ == '__main__':
    sys.exit(main())
