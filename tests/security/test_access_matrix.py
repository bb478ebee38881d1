"""The access matrix (access_matrix.py), tried over JSON-RPC as each role.

The fixture builds a database (matrix_db.py, in a subprocess: DB_CACHE
restores the shared billing set-up) and serves it with a real trytond on a
loopback port; each role logs in with common.db.login and calls the models,
fields, wizards and buttons of the matrix.
"""
import pathlib
import sys
import urllib.error

import pytest
from trytond_server import built_database_server

from access_matrix import (
    BUTTONS, DOC, FIELDS, MODELS, ROLES, WIZARDS, render)
from rpc import RPCError, Session

HERE = pathlib.Path(__file__).resolve().parent
PASSWORD = 'billing-demo'
# A date and an amount as JSON-RPC sends them (plain strings are refused as
# input before any access check)
DATE = {'__class__': 'date', 'year': 2026, 'month': 1, 'day': 1}
AMOUNT = {'__class__': 'Decimal', 'decimal': '5000.00'}


@pytest.fixture(scope='module')
def matrix_server(tmp_path_factory):
    "(url, database, records) of a trytond serving the matrix database"
    with built_database_server(tmp_path_factory.mktemp('matrix-db'),
            'access_matrix',
            [sys.executable, str(HERE / 'matrix_db.py')]) as server:
        yield server


def probe(session, kind, name, extra=None):
    """'allowed', 'denied' or ('crash', error) of one call that writes
    nothing: the access checks come first and every list of records is
    empty, so a granted call does nothing (a wizard's session is deleted).
    Denied is an answer whose message is one of the access errors."""
    try:
        if kind == 'read_field':
            session.model(name, 'read', [], [extra])
        elif kind == 'write_field':
            session.model(name, 'write', [], {extra: None})
        elif kind == 'read':
            session.model(name, 'search', [], 0, 1, None)
        elif kind == 'create':
            session.model(name, 'create', [])
        elif kind == 'write':
            session.model(name, 'write', [], {})
        elif kind == 'delete':
            session.model(name, 'delete', [])
        elif kind == 'button':
            session.model(name, extra, [])
        elif kind == 'wizard':
            context = {'active_model': extra, 'active_ids': [],
                'active_id': None} if extra else {}
            wizard_id, _, _ = session.call(
                f'wizard.{name}.create', dict(session.context, **context))
            session.call(f'wizard.{name}.delete', wizard_id,
                dict(session.context, **context))
    except RPCError as e:
        if e.user_error and (e.message.startswith('You are not allowed')
                or e.message.startswith('Calling button')):
            return 'denied'
        if e.user_error:
            return 'allowed'
        return ('crash', e.error)
    return 'allowed'


def observe(session, role):
    "{(kind, name): cell} of what session may do, as the matrix writes it"
    def letters(kinds, *call):
        cell = ''
        for kind in kinds:
            outcome = probe(session, kind, *call)
            if isinstance(outcome, tuple):
                crashes.append((role, kind, call, outcome[1]))
            cell += kind[0].upper() if outcome == 'allowed' else '-'
        return cell
    crashes = []
    seen = {}
    for model in MODELS:
        seen['model', model] = letters(
            ['read', 'write', 'create', 'delete'], model)
    for model, field in FIELDS:
        seen['field', (model, field)] = letters(
            ['read_field', 'write_field'], model, field)
    for wizard, (model, _) in WIZARDS.items():
        seen['wizard', wizard] = 'X' if probe(
            session, 'wizard', wizard, model) == 'allowed' else '-'
    for model, button in BUTTONS:
        seen['button', (model, button)] = 'X' if probe(
            session, 'button', model, button) == 'allowed' else '-'
    return seen, crashes


def declared_cell(kind, name, index):
    if kind == 'model':
        return MODELS[name][index]
    elif kind == 'field':
        return FIELDS[name][index]
    elif kind == 'wizard':
        return WIZARDS[name][1][index]
    else:
        return BUTTONS[name][index]


def test_access_matrix(matrix_server):
    "Every cell of the matrix, tried over JSON-RPC as each role"
    url, database, _ = matrix_server
    wrong, crashes = [], []
    for index, role in enumerate(ROLES):
        session = Session(url, database, role, PASSWORD)
        seen, role_crashes = observe(session, role)
        crashes.extend(role_crashes)
        for (kind, name), cell in seen.items():
            declared = declared_cell(kind, name, index)
            if cell != declared:
                wrong.append(f"{role}: {kind} {name}: declared {declared}, "
                    f"the server grants {cell}")
    assert not (wrong or crashes), '\n'.join(
        ["the access matrix differs:"] + wrong
        + ["calls that crashed instead of answering:"]
        + [str(c) for c in crashes])


def test_matrix_covers_the_modules(matrix_server):
    "Each stored model, wizard and button with groups of both modules"
    _, _, records = matrix_server
    assert set(records['models']) - set(MODELS) == set()
    assert set(records['wizards']) - set(WIZARDS) == set()
    assert {tuple(b) for b in records['buttons']} - set(BUTTONS) == set()


def test_matrix_doc_is_current():
    "The documentation's table is the one the test checks"
    assert DOC.read_text(encoding='utf-8') == render(), (
        f"{DOC} is stale: run python tests/security/access_matrix.py")


def expect_refused(call, message):
    "Run call, which must answer a user error of exactly message"
    with pytest.raises(RPCError) as info:
        call()
    assert info.value.user_error, info.value.error
    assert info.value.message == message


def test_forged_rows_refused(matrix_server):
    """Finance cannot add a credit movement, nor a limit change; the finance
    manager cannot add a billing action event: nothing is written"""
    url, database, records = matrix_server
    finance = Session(url, database, 'finance', PASSWORD)
    manager = Session(url, database, 'finance_manager', PASSWORD)

    def credit_state(session):
        credit, = session.model('sale.subscription.credit', 'read',
            [records['credit']], ['balance', 'movements'])
        return credit['balance'], credit['movements']
    before = credit_state(finance)
    for session in [finance, manager]:
        expect_refused(lambda: session.model(
                'sale.subscription.credit.movement', 'create', [{
                        'credit': records['credit'], 'date': DATE,
                        'kind': 'grant', 'amount': AMOUNT}]),
            'You are not allowed to create records of "Customer Credit '
            'Movement": only the billing module records them.')
        # nor through the credit, its parent
        expect_refused(lambda: session.model(
                'sale.subscription.credit', 'write', [records['credit']], {
                    'movements': [('create', [{
                                    'date': DATE, 'kind': 'grant',
                                    'amount': AMOUNT}])]}),
            'You are not allowed to create records of "Customer Credit '
            'Movement": only the billing module records them.')
    assert credit_state(finance) == before

    def events():
        action, = manager.model('sale.subscription.billing.action', 'read',
            [records['action']], ['events'])
        return action['events']
    before = events()
    assert len(before) == 1  # planned by the finance manager
    expect_refused(lambda: manager.model(
            'sale.subscription.billing.action.event', 'create', [{
                    'action': records['action'],
                    'date': {'__class__': 'datetime', 'year': 2026,
                        'month': 1, 'day': 1, 'hour': 0, 'minute': 0,
                        'second': 0, 'microsecond': 0},
                    'user': records['users']['admin'],
                    'from_state': 'planned', 'to_state': 'cancelled',
                    'message': "Cancelled by the administrator"}]),
        'You are not allowed to create records of "Sale Subscription '
        'Billing Action Event": only the billing module records them.')
    for method, verb, args in [
            ('write', 'change', [before, {'message': "changed"}]),
            ('delete', 'delete', [before])]:
        expect_refused(lambda: manager.model(
                'sale.subscription.billing.action.event', method, *args),
            f'You are not allowed to {verb} records of "Sale Subscription '
            'Billing Action Event": only the billing module records them.')
    assert events() == before

    expect_refused(lambda: finance.model(
            'sale.subscription.line.limit_change', 'create', [{
                    'line': records['line'], 'date': DATE,
                    'old_quantity': 4, 'quantity': 1}]),
        'You are not allowed to create records of "Sale Subscription Line '
        'Limit Change": only the billing module records them.')
    assert finance.model('sale.subscription.line.limit_change', 'search',
        [('line', '=', records['line'])], 0, None, None) == []


def test_resource_record_fields_refused(matrix_server):
    "The finance manager corrects shelved_by_billing, not what Nova said"
    url, database, _ = matrix_server
    manager = Session(url, database, 'finance_manager', PASSWORD)
    expect_refused(lambda: manager.model('cloud_billing.resource', 'write',
            [], {'uuid': 'other-server', 'project_id': 'other-project',
                'shelved_by_billing': True}),
        'You are not allowed to change "Project ID, UUID" of cloud '
        'resources: they record what the cloud reports (only "Shelved by '
        'Billing" can be corrected).')


def test_email_delivery_refused(matrix_server):
    """Nobody records an email delivered, nor logs a message of their own
    for the retry job to send: the delivery fields of ir.email are the
    server's, though finance may write the email's resource (the
    subscription)"""
    url, database, records = matrix_server
    fields = ['delivery_state', 'delivery_attempts', 'delivery_next_at']
    resource = f'sale.subscription,{records["subscription"]}'

    def delivery(session):
        email, = session.model('ir.email', 'read', [records['email']], fields)
        return [email[f] for f in fields]

    def emails(session):
        return session.model('ir.email', 'search',
            [('resource', '=', resource)], 0, None, None)
    for role in ['finance', 'finance_manager']:
        session = Session(url, database, role, PASSWORD)
        before = delivery(session), emails(session)
        assert before == (['failed', 1, None], [records['email']])
        expect_refused(lambda: session.model('ir.email', 'write',
                [records['email']], {
                    'delivery_state': 'sent', 'delivery_attempts': 0}),
            'You are not allowed to access "Email".')
        # create is not an RPC method of ir.email
        with pytest.raises(urllib.error.HTTPError) as info:
            session.model('ir.email', 'create', [{
                        'recipients': 'someone@example.com',
                        'resource': resource, 'delivery_state': 'queued',
                        'delivery_message': {
                            '__class__': 'bytes', 'base64': 'VG86IHg='},
                        }])
        assert info.value.code == 403
        assert (delivery(session), emails(session)) == before
