# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Build the database of the price route test (run in a subprocess).

    DB_NAME=<name> python -m cloud_pricing.tests.http_db <output.json>

Activates cloud_pricing with the shared billing set-up (DB_CACHE), syncs the
test catalog from a catalog server on loopback (stopped before the end) and
issues keys of the application ``cloud_pricing``: one of the finance user
(may price), one of a Sales user (may price), one of the support user (may
read the catalog but not price) and one of an employee without group.
Creates an organization (with its sale order). Writes the database name,
the keys, the organization's code and its sale order number to
output.json.
"""
import json
import sys

from proteus import Model, Wizard
from trytond.tests.tools import activate_modules, set_user

from subscription_core.tests.tools import (
    issue_application_key, setup_billing)
from cloud_pricing.tests.tools import (
    CatalogServer, catalog_text, create_billing_entity, create_origin,
    create_user)


def build():
    config = activate_modules('cloud_pricing', setup_billing)
    User = Model.get('res.user')
    finance, = User.find([('login', '=', 'finance')])
    support, = User.find([('login', '=', 'support')])
    sales = create_user('sales', "Sales User", ["Sales"])
    employee = create_user('employee', "Employee", [])
    keys = {
        'finance_key': issue_application_key(finance, 'cloud_pricing'),
        'support_key': issue_application_key(support, 'cloud_pricing'),
        'sales_key': issue_application_key(sales, 'cloud_pricing'),
        'employee_key': issue_application_key(employee, 'cloud_pricing'),
        }
    Party = Model.get('party.party')
    entity = create_billing_entity("Acme Holding AG")
    origin = create_origin("Direct", entity)
    organization = Party(name="Acme", organization_origin=origin)
    organization.save()
    with CatalogServer({'/catalog.json': catalog_text()}):
        set_user(finance)
        Wizard('cloud_pricing.catalog.sync').execute('sync')
    SyncRun = Model.get('cloud_pricing.catalog.sync_run')
    run, = SyncRun.find([])
    assert run.state == 'done', run.message
    return dict(keys, database=config.database_name,
        organization=organization.code, entity=entity.code,
        sale_order=organization.billing_sale.number)


if __name__ == '__main__':
    with open(sys.argv[1], 'w') as file:
        json.dump(build(), file)
