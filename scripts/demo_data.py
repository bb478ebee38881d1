"""Build a database with both modules activated and the demo data.

    python scripts/demo_data.py --database demo [--reset]

Used by `make demo` and by the browser test. The database backend and its
location come from the trytond configuration (TRYTOND_CONFIG and the
TRYTOND_* environment variables), so the same script builds an SQLite file or
a PostgreSQL database.
"""
import argparse
import datetime
import os
import subprocess
import sys
import tempfile
from decimal import Decimal

ADMIN_PASSWORD = 'admin-demo'
MODULES = 'cloud_billing'

# name, e-mail, billing model, [(service code, quantity)], start (months ago)
CUSTOMERS = [
    ("Acme Hosting", 'billing@acme.example', 'monthly',
        [('vcpu', 8), ('ram', 16), ('instance', 2)], 5),
    ("Globex Corporation", 'ap@globex.example', 'monthly',
        [('vcpu', 4), ('ram', 8), ('instance', 1), ('support', 1)], 3),
    ("Initech", 'finance@initech.example', 'monthly',
        [('vcpu', 2), ('ram', 4), ('instance', 1)], 2),
    ("Umbrella Labs", 'accounts@umbrella.example', 'monthly',
        [('vcpu', 16), ('ram', 64), ('instance', 4)], 4),
    ("Stark Analytics", 'billing@stark.example', 'monthly',
        [('vcpu', 6), ('ram', 12), ('instance', 2)], 1),
    ]


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


def trytond_admin(*args):
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write(ADMIN_PASSWORD)
        passfile.flush()
        env = dict(os.environ, TRYTONPASSFILE=passfile.name)
        admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
        subprocess.run([admin, *args], env=env, check=True)


def load_demo_data(database, today=None):
    from proteus import Model, config as pconfig
    from subscription_core.tests.tools import (
        create_customer, get_monthly_recurrence, setup_billing)
    from dateutil.relativedelta import relativedelta

    today = today or datetime.date.today()
    config = pconfig.set_trytond(database=database)
    setup_billing(config, years=(today.year - 1, today.year, today.year + 1))

    Subscription = Model.get('sale.subscription')
    Service = Model.get('sale.subscription.service')
    services = {s.product.code: s for s in Service.find([])}
    monthly = get_monthly_recurrence()
    subscriptions = []
    for name, email, model, lines, months_ago in CUSTOMERS:
        party = create_customer(name, email=email)
        subscription = Subscription(party=party)
        subscription.description = f"{name} cloud project"
        subscription.start_date = today - relativedelta(
            months=months_ago, day=1)
        subscription.invoice_recurrence = monthly
        subscription.billing_model = model
        for code, quantity in lines:
            line = subscription.lines.new(service=services[code])
            line.quantity = quantity
        subscription.save()
        subscriptions.append(subscription)
    Subscription.click(subscriptions, 'quote')
    Subscription.click(subscriptions, 'run')
    return config


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
        '--email', 'admin@cloud.example')
    trytond_admin('-d', options.database, '-u', MODULES,
        '--activate-dependencies')
    load_demo_data(options.database)
    print(f"database {options.database!r} ready")
    return 0


if __name__ == '__main__':
    sys.exit(main())
