"""Hostile values through the real JSON-RPC layer, as the finance user.

Every create, write, button and wizard of the models both modules register
gets random and hostile values (NaN, ±Infinity, 1e30, negatives, 10 MB
texts, lists and dictionaries where numbers are expected, ids of other
models, unicode, dates out of order and at date.max). Each answer must be a
success whose record reads back finite and within bounds, or a Tryton user
error with a translated message after which the database is unchanged;
anything else (a server fault, a traceback) counts as a crash.
"""
import base64
import datetime
from decimal import Decimal

import pytest

from tests.fuzz.jsonrpc import Client

pytestmark = pytest.mark.fuzz
FINANCE_PASSWORD = 'billing-demo'  # subscription_core/tests/tools.py


def fuzz(fuzzer, points, budget):
    examples, seconds = budget
    for point in points:
        start = datetime.datetime.now()
        done = 0
        while done < examples:
            chunk = min(examples - done, 500)
            began = datetime.datetime.now()
            fuzzer.run(point, chunk)
            fuzzer.stats.timed(
                point, (datetime.datetime.now() - began).total_seconds())
            done += chunk
            if seconds and datetime.datetime.now() - start > seconds:
                break
        # A line per entry point as it ends (seen with pytest -s): a long
        # run that is stopped still tells what it covered.
        tried, crashed, samples = fuzzer.stats.points.get(
            point.key, (0, 0, []))
        print(f'fuzzed {point.key}: {tried} tried, {crashed} crashed',
            *samples, sep='\n    ', flush=True)
    crashes = [(p.key, fuzzer.stats.points[p.key]) for p in points
        if fuzzer.stats.points.get(p.key, (0, 0))[1]]
    assert not crashes, '\n'.join(
        f'{key}: {crashed} of {tried} crashed\n    ' + '\n    '.join(samples)
        for key, (tried, crashed, samples) in crashes)


def test_discovery(entry_points):
    "The entry points come from the modules, not from a hand list"
    keys = {p.key for p in entry_points}
    for key in [
            'sale.subscription.line.write',
            'cloud_billing.configuration.write',
            'sale.subscription.credit.grant (button)',
            'sale.subscription.line.change_limit (wizard)',
            'sale.subscription.billing.run (wizard)',
            'ir.email.write',
            ]:
        assert key in keys
    assert not keys & {'ir.email.template.write', 'ir.cron.write',
        'ir.email.create'}


@pytest.mark.parametrize('kind', ['create', 'write', 'button', 'wizard'])
def test_fuzz(fuzzer, entry_points, budget, shard, kind):
    fuzz(fuzzer, [p for p in shard(entry_points) if p.kind == kind], budget)


# The crashes and holes the fuzz found, one call each: a Tryton user error
# and nothing written (each returned a server fault or was stored before).
NAN, INF = float('nan'), float('inf')
REGRESSIONS = [
    # NaN/Infinity pass `quantity < 0` and were stored
    ('sale.subscription.line', 'write', {'quantity': NAN}),
    ('sale.subscription.line', 'write', {'quantity': INF}),
    ('sale.subscription.line', 'write',
        {'unit_price': __import__('decimal').Decimal('Infinity')}),
    # a negative limit or price on a line without quota was billed
    ('sale.subscription.line', 'write', {'quantity': -1.0}),
    ('sale.subscription.line', 'write',
        {'unit_price': __import__('decimal').Decimal('-5')}),
    # wrong types reached the SQL layer
    ('sale.subscription.line', 'write', {'quantity': [1]}),
    ('sale.subscription', 'write', {'cloud_synced_at': []}),
    ('account.invoice.line', 'write', {'origin': ''}),
    ('sale.subscription.line', 'write', {'description': 'x' * 10_000_000}),
    ]
# Settings only the finance managers write: durations without an upper
# bound pushed planned dates past date.max
MANAGER_REGRESSIONS = [
    ('cloud_billing.configuration', 'write', {'retention_days': 10 ** 9}),
    ('cloud_billing.configuration', 'write', {'remote_wait': 10 ** 9}),
    ('account.dunning.level', 'write', {'billing_action_delay':
            datetime.timedelta(days=10 ** 6)}),
    ]


@pytest.mark.parametrize('model, method, values', REGRESSIONS,
    ids=[f'{m}.{k}:{",".join(v)}' for m, k, v in REGRESSIONS])
def test_regression(fuzzer, entry_points, model, method, values):
    point = next(p for p in entry_points
        if p.model == model and p.kind == method)
    before = fuzzer.checksum(point.tables)
    answer = fuzzer.finance.call(
        f'model.{model}.{method}', [point.ids[:1], values])
    assert answer.kind == 'user_error', answer
    assert fuzzer.checksum(point.tables) == before


@pytest.mark.parametrize('model, method, values', MANAGER_REGRESSIONS,
    ids=[f'{m}.{k}:{",".join(v)}' for m, k, v in MANAGER_REGRESSIONS])
def test_regression_manager(fuzzer, entry_points, model, method, values):
    manager = Client(fuzzer.finance.host_url, fuzzer.finance.database)
    manager.login('finance_manager', FINANCE_PASSWORD)
    try:
        point = next(p for p in entry_points
            if p.model == model and p.kind == method)
        # the write is allowed to the finance manager: only the value is
        # refused
        answer = manager.call(f'model.{model}.{method}', [point.ids[:1], {}])
        assert answer.kind == 'result', answer
        before = fuzzer.checksum(point.tables)
        answer = manager.call(
            f'model.{model}.{method}', [point.ids[:1], values])
        assert answer.kind == 'user_error', answer
        assert 'at most' in answer.message or 'range' in answer.message
        assert fuzzer.checksum(point.tables) == before
    finally:
        manager.close()


@pytest.mark.parametrize('model, field', [
        ('account.invoice.line', 'billing_unit_price'),
        ('sale.subscription.compensation', 'amount'),
        ('sale.subscription.credit', 'amount'),
        ])
@pytest.mark.parametrize('ids', [[], 'one'])
def test_regression_decimal_places(fuzzer, entry_points, model, field, ids):
    "More decimal places than PostgreSQL's numeric holds was a fault"
    point = next(p for p in entry_points
        if p.model == model and p.kind == 'write')
    ids = point.ids[:1] if ids == 'one' else ids
    before = fuzzer.checksum(point.tables)
    for value in [Decimal('1E-999999'), Decimal('0E-999999')]:
        answer = fuzzer.finance.call(f'model.{model}.write',
            [ids, {field: value}])
        assert answer.kind == 'user_error', answer
    assert fuzzer.checksum(point.tables) == before


def test_client_logs_in_again(fuzzer):
    "A session gone (401) is no answer of the call: the client logs in again"
    client = Client(fuzzer.finance.host_url, fuzzer.finance.database)
    try:
        client.login('finance', FINANCE_PASSWORD)
        login, user_id, _ = base64.b64decode(
            client.authorization.split()[1]).decode().split(':')
        client.authorization = 'Session ' + base64.b64encode(
            f'{login}:{user_id}:gone'.encode()).decode()
        answer = client.call('model.res.user.get_preferences', [True])
        assert answer.kind == 'result', answer
        assert not client.authorization.endswith(base64.b64encode(
                f'{login}:{user_id}:gone'.encode()).decode())
    finally:
        client.close()


def test_regression_button_ids(fuzzer, entry_points):
    "Button ids of the wrong type were a server fault"
    answer = fuzzer.finance.call('model.sale.subscription.credit.grant',
        [[datetime.date(2026, 1, 1)]])
    assert answer.kind == 'user_error', answer


@pytest.mark.parametrize('model, values', [
        # A many2one of id 0 escaped as a foreign key fault
        ('account.invoice', {'type': 'out', 'party': 0}),
        ('account.invoice.line', {'type': 'line', 'account': 0}),
        # A NUL in a selection key was a fault on PostgreSQL
        ('account.invoice', {'type': 'out', 'state': 'a\x00b'}),
        ('account.move', {'state': '\x00'}),
        ])
def test_regression_create_values(fuzzer, entry_points, model, values):
    "Values make fuzz found a server fault with, refused writing nothing"
    point = next(p for p in entry_points
        if p.model == model and p.kind == 'create')
    before = fuzzer.checksum(point.tables)
    answer = fuzzer.finance.call(
        f'model.{model}.create', [[dict(point.base, **values)]])
    assert answer.kind == 'user_error', answer
    assert fuzzer.checksum(point.tables) == before


def test_regression_company_ids(fuzzer):
    "The company, extended to register its jobs, took any ids (make fuzz)"
    answer = fuzzer.finance.call('model.company.company.write',
        [__import__('decimal').Decimal('-1E+30'), {'receivable_today': 1}])
    assert answer.kind == 'user_error', answer


def test_regression_singleton(fuzzer):
    "An empty create of a singleton failed an assertion"
    answer = fuzzer.finance.call('model.account.configuration.create', [[]])
    assert answer.kind == 'user_error', answer


@pytest.mark.parametrize('name, context', [
        # records without their model (make fuzz, 1,000 examples each)
        ('sale.subscription.automation_hold.hold',
            {'active_model': None, 'active_id': 1, 'active_ids': [1]}),
        ('sale.subscription.automation_hold.release',
            {'active_model': None, 'active_id': 1, 'active_ids': None}),
        # the line's model without a line
        ('sale.subscription.line.change_limit',
            {'active_model': 'sale.subscription.line', 'active_id': None,
                'active_ids': []}),
        ])
def test_regression_wizard_records(fuzzer, name, context):
    "A wizard started without a record to act on crashed"
    _wizard_user_error(fuzzer.finance, name, context)


def test_regression_relink_without_subscription(fuzzer):
    "Re-link Project (a finance manager's wizard) without a subscription"
    manager = Client(fuzzer.finance.host_url, fuzzer.finance.database)
    manager.login('finance_manager', FINANCE_PASSWORD)
    try:
        answer = _wizard_user_error(manager, 'cloud_billing.relink_project',
            {'active_model': 'sale.subscription', 'active_id': None,
                'active_ids': []})
        assert answer.message == (
            'Choose the subscription whose project is re-linked.')
    finally:
        manager.close()


def _wizard_user_error(client, name, context):
    name = f'wizard.{name}'
    session, state, _ = client.call(f'{name}.create', []).value
    try:
        answer = client.call(f'{name}.execute', [session, {}, state],
            context=context)
        assert answer.kind == 'user_error', answer
        return answer
    finally:
        client.call(f'{name}.delete', [session])


def test_regression_wizard_context(fuzzer):
    "An unknown active model crashed the wizard"
    name = 'wizard.sale.subscription.billing.run'
    session, state, _ = fuzzer.finance.call(f'{name}.create', []).value
    try:
        answer = fuzzer.finance.call(f'{name}.execute', [session, {}, state],
            context={'active_model': 'ñ', 'active_id': 1,
                'active_ids': [1]})
        assert answer.kind == 'user_error', answer
    finally:
        fuzzer.finance.call(f'{name}.delete', [session])


@pytest.mark.parametrize('button', ['post', 'validate_invoice'])
def test_regression_invoice_without_journal(fuzzer, entry_points, button):
    "A draft invoice whose journal finance emptied crashed when posted"
    invoices = fuzzer.admin.call('model.account.invoice.search',
        [[('type', '=', 'out')], 0, 1, None]).value
    draft, = fuzzer.admin.call(
        'model.account.invoice.copy', [invoices, {}]).value
    answer = fuzzer.finance.call(
        'model.account.invoice.write', [[draft], {'journal': None}])
    assert answer.kind == 'result', answer
    point = next(p for p in entry_points
        if p.model == 'account.invoice' and p.kind == 'write')
    before = fuzzer.checksum(point.tables + ['account_move'])
    answer = fuzzer.finance.call(f'model.account.invoice.{button}', [[draft]])
    assert answer.kind == 'user_error', answer
    assert 'needs a journal' in answer.message
    assert fuzzer.checksum(point.tables + ['account_move']) == before


@pytest.mark.parametrize('key', [
        'line.',  # a related record's values, as a server sends them
        'line.rec_name', '_parent_line.id', 'ñ'])
def test_regression_wizard_state_keys(fuzzer, entry_points, key):
    "A key of a wizard form that is no field of it crashed (make fuzz)"
    wizard = 'wizard.sale.subscription.line.change_limit'
    lines = fuzzer.admin.call('model.sale.subscription.line.search',
        [[('subscription.state', '=', 'running')], 0, 1, None]).value
    context = {'active_model': 'sale.subscription.line',
        'active_id': lines[0], 'active_ids': lines[:1]}
    point = next(p for p in entry_points
        if p.kind == 'wizard' and p.model == wizard[len('wizard.'):])
    session, state, _ = fuzzer.finance.call(f'{wizard}.create', []).value
    try:
        view = fuzzer.finance.call(f'{wizard}.execute', [session, {}, state],
            context=context).value['view']
        values = dict(view['defaults'], **view['values'])
        values[key] = {'rec_name': 'x'}
        before = fuzzer.checksum(point.tables)
        answer = fuzzer.finance.call(f'{wizard}.execute',
            [session, {'start': values}, 'change'], context=context)
        assert answer.kind == 'user_error', answer
        assert fuzzer.checksum(point.tables) == before
    finally:
        fuzzer.finance.call(f'{wizard}.delete', [session])
