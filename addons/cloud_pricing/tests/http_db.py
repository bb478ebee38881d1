# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Build the database of the price route test (run in a subprocess).

    DB_NAME=<name> python -m cloud_pricing.tests.http_db <output.json>

Activates cloud_pricing with the shared billing set-up (DB_CACHE), syncs the
test catalog from a catalog server on loopback (stopped before the end) and
issues keys of the application ``cloud_pricing``: one of the finance user
(may price), one of the support user (may read the catalog but not price).
Writes the database name and the keys to output.json.
"""
import json
import sys

from proteus import Model, Wizard
from trytond.tests.tools import activate_modules, set_user

from subscription_core.tests.tools import (
    issue_application_key, setup_billing)
from cloud_pricing.tests.tools import CatalogServer, catalog_text


def build():
    config = activate_modules('cloud_pricing', setup_billing)
    User = Model.get('res.user')
    finance, = User.find([('login', '=', 'finance')])
    support, = User.find([('login', '=', 'support')])
    keys = {
        'finance_key': issue_application_key(finance, 'cloud_pricing'),
        'support_key': issue_application_key(support, 'cloud_pricing'),
        }
    with CatalogServer({'/catalog.json': catalog_text()}):
        set_user(finance)
        Wizard('cloud_pricing.catalog.sync').execute('sync')
    SyncRun = Model.get('cloud_pricing.catalog.sync_run')
    run, = SyncRun.find([])
    assert run.state == 'done', run.message
    return dict(keys, database=config.database_name)


if __name__ == '__main__':
    with open(sys.argv[1], 'w') as file:
        json.dump(build(), file)
