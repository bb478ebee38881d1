"""Build the database of the access matrix test (run in a subprocess).

    DB_NAME=<name> python tests/security/matrix_db.py <output.json>

Activates cloud_billing and billing_usage with the shared billing set-up (restored from
DB_CACHE when the scenarios already built it), adds the two users the
billing set-up has not (a plain Sales user and an employee with no group),
a running subscription with a draft credit and a planned billing action
and a failed email of it (the records the forgery tests write to), and writes to output.json their
ids and what the two modules declare: their stored models, wizards and
buttons with groups, so the test can check the matrix covers them all.
"""
import datetime
import json
import sys
from decimal import Decimal

from proteus import Model
from trytond.tests.tools import activate_modules, set_user

from subscription_core.tests.tools import (
    USER_PASSWORD, create_customer, get_services,
    setup_billing)

MODULES = ['subscription_core', 'cloud_billing', 'cloud_pricing',
    'billing_usage']
# login: (name, group names); the billing users come from setup_billing
EXTRA_USERS = {
    'sales': ("Sales User", ["Sales"]),
    'employee': ("Employee", []),
    }


def create_extra_users(config):
    from trytond.modules.company.tests.tools import get_company
    User = Model.get('res.user')
    Group = Model.get('res.group')
    Company = Model.get('company.company')
    company = get_company()
    users = []
    for login, (name, groups) in EXTRA_USERS.items():
        user = User(name=name, login=login, password=USER_PASSWORD)
        user.companies.append(Company(company.id))
        user.company = company
        for group_name in groups:
            group, = Group.find([('name', '=', group_name)])
            user.groups.append(group)
        users.append(user)
    User.save(users)


def create_records(config):
    "A running subscription, a draft credit, a planned action"
    User = Model.get('res.user')
    finance, = User.find([('login', '=', 'finance')])
    manager, = User.find([('login', '=', 'finance_manager')])
    set_user(finance)
    Subscription = Model.get('sale.subscription')
    customer = create_customer("Acme")
    subscription = Subscription(party=customer)
    subscription.start_date = datetime.date(2026, 1, 1)
    line = subscription.lines.new(service=get_services()['vcpu'])
    line.quantity = 4
    subscription.click('quote')
    subscription.click('run')
    Credit = Model.get('sale.subscription.credit')
    credit = Credit(party=customer, amount=Decimal('100.00'))
    credit.save()
    set_user(manager)
    Action = Model.get('sale.subscription.billing.action')
    action = Action(
        subscription=Subscription(subscription.id), type='grace',
        planned_date=datetime.date(2026, 3, 1), reason="Planned by hand")
    action.save()
    set_user(1)
    return {
        'email': create_failed_email(config, subscription.id),
        'subscription': subscription.id,
        'line': subscription.lines[0].id,
        'credit': credit.id,
        'action': action.id,
        'company': subscription.company.id,
        'users': {u.login: u.id for u in User.find([])},
        }


def create_failed_email(config, subscription):
    "An email of the subscription whose delivery failed, as the server logs it"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(config.database_name)
    with Transaction().start(config.database_name, 0) as transaction:
        Email = pool.get('ir.email')
        email, = Email.create([{
                    'recipients': 'ap@acme.example',
                    'subject': "Reminder",
                    'resource': 'sale.subscription,%s' % subscription,
                    'delivery_state': 'failed',
                    'delivery_attempts': 1,
                    'delivery_error': 'SMTPRecipientsRefused',
                    }])
        transaction.commit()
        return email.id


def declared(config):
    "The stored models, wizards and buttons with groups of the modules"
    from trytond.model import ModelStorage, ModelView
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(config.database_name)
    with Transaction().start(config.database_name, 0, readonly=True):
        IrModel = pool.get('ir.model')
        ModelData = pool.get('ir.model.data')
        Button = pool.get('ir.model.button')
        ActionWizard = pool.get('ir.action.wizard')

        def declared_ids(model):
            return [d.db_id for d in ModelData.search([
                        ('module', 'in', MODULES),
                        ('model', '=', model),
                        ])]
        models = sorted(m.name
            for m in IrModel.search([('module', 'in', MODULES)])
            # Without ModelView no RPC reaches a model (e.g. the values
            # of a company of a MultiValue singleton)
            if issubclass(pool.get(m.name), ModelStorage)
            and issubclass(pool.get(m.name), ModelView))
        wizards = sorted({w.wiz_name
                for w in ActionWizard.browse(declared_ids('ir.action.wizard'))})
        buttons = sorted({(b.model, b.name)
                for b in Button.browse(declared_ids('ir.model.button'))
                if b.groups})
    return {'models': models, 'wizards': wizards,
        'buttons': [list(b) for b in buttons]}


def main(output):
    config = activate_modules(
        ['cloud_billing', 'cloud_pricing', 'billing_usage'], setup_billing)
    create_extra_users(config)
    records = create_records(config)
    records.update(declared(config))
    with open(output, 'w') as file:
        json.dump(records, file, indent=1)


if __name__ == '__main__':
    main(sys.argv[1])
