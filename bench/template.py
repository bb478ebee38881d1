# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Template databases of the benchmarks, cloned for each size

Two flavours:

- ``ours``: ``subscription_core`` activated (the engine);
- ``stock``: only ``sale_subscription`` (and what it depends on, among
  them ``account_invoice``), so the baseline runs Tryton's own code with
  nothing of ours in its pool.

Both get a company, a chart of accounts, fiscal year 2025 with invoice
sequences, a 20 % customer tax on the services' category, the services of
``subscription_core/tests/tools.py`` (vCPU, RAM GiB, Instance...) and a
monthly recurrence.
"""
import datetime
import sys
from decimal import Decimal
from pathlib import Path

# scripts/ holds the trytond-admin helper of the demo and the benchmarks
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'scripts'))
from trytond_admin import trytond_admin  # noqa: E402

YEAR = 2025
ADMIN_PASSWORD = 'admin-bench'
MODULES = {
    'ours': 'subscription_core',
    'stock': 'sale_subscription',
    # usage_ingest, usage_rating (bench/usage_data.py)
    'usage': 'billing_usage',
    }


def build(database, flavour):
    "Activate the flavour's modules and set the company up (proteus)"
    trytond_admin('-d', database, '--all', '--email', 'admin@bench.example',
        password=ADMIN_PASSWORD, quiet=True)
    trytond_admin('-d', database, '-u', MODULES[flavour],
        '--activate-dependencies', password=ADMIN_PASSWORD, quiet=True)
    setup(database)


def setup(database):
    from proteus import Model, config as pconfig
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear, create_tax)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import (
        create_company, get_company)

    from subscription_core.tests.tools import (
        create_services, get_monthly_recurrence)

    config = pconfig.set_trytond(database=database)
    create_company(config=config)
    create_chart(config=config)
    company = get_company(config=config)
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(
            company, (datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31)),
            config=config), config=config)
    fiscalyear.click('create_period')
    create_services(config)
    tax = create_tax(Decimal('.20'), config=config)
    tax.save()
    Category = Model.get('product.category')
    category, = Category.find([('name', '=', "Cloud Services")])
    category.customer_taxes.append(tax)
    category.save()
    get_monthly_recurrence(config)
