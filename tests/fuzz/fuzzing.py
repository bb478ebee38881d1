"""The entry points of the modules and the hostile values sent to them.

The entry points are read from what the modules register, not from a hand
list: the models and wizards that the modules of ``MODULES``
(subscription_core, cloud_billing, billing_usage) register in the pool
(tryton.cfg ``[register]``, read through ``Pool.classes``), the buttons of those models (``ir.model.button``) and
their fields (``fields_get`` as the finance user sees them). ``EXCLUDED``
says, with a reason each, what is not an entry point of the finance user;
``NOT_RPC`` the methods a model does not expose over RPC.
"""
import datetime
import hashlib
import math
import os
import sqlite3
import string
from decimal import Decimal

from hypothesis import strategies as st

from .jsonrpc import Raw, is_translated

MODULES = ['subscription_core', 'cloud_billing', 'cloud_pricing',
    'billing_usage']

# What the finance user does not reach, and why. Keys are a model name
# ("create/write of it"), "model:button" or a wizard name.
EXCLUDED = {
    # Not stored: ir.date is the server clock, no create or write.
    'ir.date': "not a stored model",
    # The cron records and the account type templates belong to the
    # administrator (finance has no access to them; a chart template is
    # data of the module files).
    'ir.cron': "administrator's scheduled jobs",
    'account.account.type.template': "chart templates are module data",
    # The Genshi templates evaluate code: the administrators' alone
    # (finance's refusal is tested by the access matrix and
    # scenario_billing_emails).
    'ir.email.template': "administrators' templates",
    # A read-only SQL view (table_query): no table to checksum; its create,
    # write and delete are refused to everyone (the access matrix's test).
    'cloud_billing.dashboard': "a read-only report",
    # Rows only the module's code creates (issue 11 item 4 forbids them to
    # every user); their create/write by RPC is the access matrix's test.
    # They stay fuzzed: a refusal is an AccessError.
    }
# Methods a model the modules extend does not expose over RPC: every call
# is refused with HTTP 403 before any value is read.
NOT_RPC = {
    'ir.email.create': "Tryton's ir.email has no create over RPC (the "
    "client's email dialog calls send; test_email_delivery_refused)",
    }
# Stock buttons of the models the modules extend that call the remote
# cloud: they reach openstacksdk and its timeouts, not the values sent.
EXCLUDED_BUTTONS = {
    'sale.subscription:sync_resources':
        "reaches OpenStack (tests/e2e and test_openstack cover it)",
    }
# Fields that are not input: the audit columns trytond fills itself.
AUDIT_FIELDS = {'id', 'create_uid', 'create_date', 'write_uid',
    'write_date', 'rec_name', '_timestamp', '_write', '_delete',
    'xml_id', 'rec_blurb'}


def registered(kind):
    "The names of the models or wizards the modules register"
    from trytond.pool import Pool
    from trytond.tools.misc import resolve
    Pool.start()
    names = set()
    for module in MODULES:
        for cls in Pool.classes[kind].get(module, {}):
            if isinstance(cls, str):
                cls = resolve(f'trytond.modules.{module}.{cls}')
            names.add(cls.__name__)
    return sorted(names)


class EntryPoint:
    "One RPC method of one model or wizard, with what it needs"

    def __init__(self, kind, model, name=None, fields=None, ids=None,
            base=None, tables=None):
        self.kind = kind  # 'create', 'write', 'button' or 'wizard'
        self.model = model
        self.name = name
        self.fields = fields or {}
        self.ids = ids or []
        self.base = base or {}
        self.tables = tables or []

    @property
    def key(self):
        if self.kind in {'create', 'write'}:
            return f'{self.model}.{self.kind}'
        if self.kind == 'button':
            return f'{self.model}.{self.name} (button)'
        return f'{self.model} (wizard)'

    def __repr__(self):
        return f'<EntryPoint {self.key}>'


def discover(admin, finance):
    """The entry points of the modules, as the finance user reaches them

    admin reads the buttons and sample records; finance's fields_get gives
    the fields finance sees.
    """
    models = [m for m in registered('model') if m not in EXCLUDED]
    wizards = [w for w in registered('wizard') if w not in EXCLUDED]
    stored = set()
    answer = admin.call('model.ir.model.search_read', [
            [('name', 'in', models)], 0, None, None, ['name']])
    assert answer.kind == 'result', answer
    known = {m['name'] for m in answer.value}
    tables = table_names(admin, models)
    entry_points = []
    for model in models:
        if model not in known:
            continue
        answer = finance.call(f'model.{model}.fields_get', [[]])
        if answer.kind != 'result':
            # No read access: create and write are refused the same way;
            # fuzz them with no field information.
            fields = {}
        else:
            fields = {n: f for n, f in answer.value.items()
                if n not in AUDIT_FIELDS and not n.startswith('_')}
        if model not in tables:
            # A form of a wizard (ModelView): reached through its wizard.
            continue
        stored.add(model)
        answer = admin.call(f'model.{model}.search', [[], 0, 20, None])
        ids = answer.value if answer.kind == 'result' else []
        base = {}
        if ids:
            required = [n for n, f in fields.items()
                if f.get('required') and f['type'] not in {
                    'one2many', 'many2many'}]
            answer = admin.call(f'model.{model}.read', [ids[:1], required])
            if answer.kind == 'result' and answer.value:
                base = {n: v for n, v in answer.value[0].items()
                    if n in required}
        for kind in ['create', 'write']:
            point = EntryPoint(kind, model, fields=fields,
                ids=ids, base=base, tables=[tables[model]])
            if point.key not in NOT_RPC:
                entry_points.append(point)
    answer = admin.call('model.ir.model.button.search_read', [
            [('model', 'in', sorted(stored))], 0, None, None,
            ['model', 'name']])
    assert answer.kind == 'result', answer
    for button in sorted(answer.value,
            key=lambda b: (b['model'], b['name'])):
        key = f"{button['model']}:{button['name']}"
        if key in EXCLUDED_BUTTONS:
            continue
        model = button['model']
        point = next(p for p in entry_points
            if p.model == model and p.kind == 'write')
        entry_points.append(EntryPoint('button', model, button['name'],
                ids=point.ids, tables=[tables[model]]))
    for wizard in wizards:
        entry_points.append(EntryPoint('wizard', wizard,
                tables=sorted(tables[m] for m in stored)))
    return entry_points


def table_names(admin, models):
    "The SQL table of each stored model (ModelSQL without table_query)"
    tables = {}
    for model in models:
        answer = admin.call(f'model.{model}.search_count', [[]])
        if answer.kind == 'result':
            tables[model] = model.replace('.', '_')
    return tables


# Hostile values

NAN = float('nan')
INF = float('inf')
SPECIAL_FLOATS = [NAN, INF, -INF, 1e30, -1e30, -1.0, -0.0, 1e308, -1e308,
    5e-324, 2.0 ** 31, 2.0 ** 63, 0.1]
SPECIAL_DECIMALS = [Decimal('NaN'), Decimal('sNaN'), Decimal('-NaN'),
    Decimal('Infinity'), Decimal('-Infinity'), Decimal('1e30'),
    Decimal('-1e30'), Decimal('-1'), Decimal('-0.01'), Decimal('1E+999999'),
    Decimal('1E-999999'), Decimal('0.000000001'), Decimal('99999999999999')]
SPECIAL_INTS = [-1, 0, 2 ** 31 - 1, 2 ** 31, -2 ** 31 - 1, 2 ** 63,
    10 ** 30, -10 ** 30, 10 ** 9, 3650000]
SPECIAL_DATES = [datetime.date.min, datetime.date.max,
    datetime.date(1, 1, 2), datetime.date(9999, 12, 30),
    datetime.date(1899, 12, 31), datetime.date(3000, 1, 1)]
BIG_TEXT = 'x' * 10_000_000
SPECIAL_TEXTS = ['', ' ', '\x00', 'a\x00b', '\ud800', '🙂' * 100,
    "'; DROP TABLE sale_subscription; --", '${1+1}', '{0.__class__}',
    '%(x)s', 'x' * 5000, 'é' * 70_000]
MALFORMED = [
    Raw({'__class__': 'date', 'year': 0, 'month': 1, 'day': 1}),
    Raw({'__class__': 'date', 'year': 2026, 'month': 2, 'day': 30}),
    Raw({'__class__': 'Decimal', 'decimal': 'abc'}),
    Raw({'__class__': 'timedelta', 'seconds': 1e300}),
    Raw({'__class__': 'timedelta', 'seconds': float('nan')}),
    Raw({'__class__': 'datetime', 'year': 9999, 'month': 12, 'day': 31,
            'hour': 23, 'minute': 59, 'second': 59,
            'microsecond': 999999}),
    Raw({'__class__': 'bytes', 'base64': 'AAAA'}),
    Raw({'__class__': 'unknown'}),
    ]

# Files: random bytes, texts in other encodings, CSV-like texts (a header of
# known and unknown columns, rows of hostile cells), a file just over 16 MiB
CSV_COLUMNS = ['transaction_id', 'subscription', 'metric', 'timestamp',
    'properties', 'prop.gib', 'prop.', 'quantity', '"', '']
SPECIAL_FILES = [b'', b'\x00' * 100, b'\xff\xfe' + 'a,b'.encode('utf-16-le'),
    'é,ü\n'.encode('latin-1'), b'PK\x03\x04\x14\x00\x06\x00\xb4\xfc',
    b'transaction_id,subscription,metric,timestamp\n' + b'a,b,c,d\n' * 10_001,
    b'x' * (16 * 1024 * 1024 + 1)]


def _csv(header, rows):
    return '\n'.join([','.join(header)] + [','.join(r) for r in rows])


floats = st.one_of(st.sampled_from(SPECIAL_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True))
decimals = st.one_of(st.sampled_from(SPECIAL_DECIMALS),
    st.decimals(allow_nan=True, allow_infinity=True))
ints = st.one_of(st.sampled_from(SPECIAL_INTS),
    st.integers(min_value=-2 ** 70, max_value=2 ** 70))
numbers = st.one_of(floats, decimals, ints)
dates = st.one_of(st.sampled_from(SPECIAL_DATES), st.dates())
texts = st.one_of(st.sampled_from(SPECIAL_TEXTS), st.text(max_size=40),
    st.text(alphabet=string.printable, min_size=200, max_size=600))
big_texts = st.just(BIG_TEXT)
timedeltas = st.one_of(
    st.sampled_from([datetime.timedelta.max, datetime.timedelta.min,
            datetime.timedelta(days=-1), datetime.timedelta(days=3650000),
            datetime.timedelta(seconds=0.5)]),
    st.timedeltas())
scalars = st.one_of(numbers, dates, texts, st.booleans(), st.none(),
    st.sampled_from(MALFORMED), timedeltas)
wrong_types = st.one_of(
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), scalars, max_size=3),
    st.lists(st.lists(scalars, max_size=3), max_size=2),
    scalars)
ids = st.one_of(st.sampled_from([-1, 0, 2 ** 31, 2 ** 63, 10 ** 30]),
    st.integers(min_value=1, max_value=500))

csv_cells = st.one_of(st.sampled_from(SPECIAL_TEXTS[:10]),
    st.text(max_size=20), st.sampled_from(['1', '-1', '1e999', 'NaN',
            '{"gib": 1}', '{"gib": NaN}', '[1]', '"', '2026-03-02T10:00:00Z',
            '9999-12-31T23:59:59-23:59', '1']))
csv_rows = st.lists(st.lists(csv_cells, max_size=7), max_size=5)
files = st.one_of(st.sampled_from(SPECIAL_FILES), st.binary(max_size=300),
    st.builds(_csv, st.lists(st.sampled_from(CSV_COLUMNS), max_size=6),
        csv_rows).map(lambda t: t.encode('utf-8', 'surrogatepass')),
    # A valid header: the lines reach the ingestion
    st.builds(_csv, st.just(CSV_COLUMNS[:6]), csv_rows).map(
        lambda t: t.encode('utf-8', 'surrogatepass')))

BY_TYPE = {
    'float': st.one_of(floats, numbers),
    'numeric': st.one_of(decimals, numbers),
    'integer': st.one_of(ints, numbers),
    'date': dates,
    'datetime': st.datetimes(),
    'timedelta': timedeltas,
    'char': texts,
    'text': texts,
    'many2one': ids,
    'reference': st.one_of(
        st.builds(lambda m, i: f'{m},{i}', st.sampled_from(
                ['sale.subscription', 'account.invoice', 'res.user',
                    'nothing.here']), ids), texts),
    'one2many': st.one_of(
        st.lists(st.tuples(st.sampled_from(
                        ['create', 'add', 'remove', 'delete', 'write',
                            'copy', 'unknown']),
                st.lists(ids, max_size=2)), max_size=2)),
    'many2many': st.lists(st.tuples(st.sampled_from(
                    ['add', 'remove', 'unknown']),
            st.lists(ids, max_size=2)), max_size=2),
    'boolean': st.booleans(),
    'binary': files,
    }


def value_for(field):
    "A hostile value for field (its fields_get definition)"
    kind = field.get('type')
    own = BY_TYPE.get(kind, scalars)
    if kind == 'selection' and isinstance(field.get('selection'), list):
        own = st.one_of(texts, st.sampled_from(
                [k for k, _ in field['selection']] or ['']))
    # Mostly values of the field's own type, a fifth of wrong types and, for
    # texts, now and then 10 MB.
    big = big_texts if kind in {'char', 'text'} else wrong_types

    def pick(dice):
        if dice < 2:
            return big
        if dice < 20:
            return wrong_types
        return own
    return st.integers(0, 99).flatmap(pick)


# Database checksums: a refused call writes nothing

class Checksum:
    "Count, last id and last write of tables, read from the database itself"

    def __init__(self, env, database):
        uri = env.get('TRYTOND_DATABASE__URI', '')
        self.postgresql = uri.startswith('postgresql://')
        if self.postgresql:
            import psycopg
            self.connection = psycopg.connect(
                uri.rstrip('/') + '/' + database, autocommit=True)
        else:
            path = f"{env['TRYTOND_DATABASE__PATH']}/{database}.sqlite"
            self.connection = sqlite3.connect(
                f'file:{path}?mode=ro', uri=True, timeout=30,
                isolation_level=None)

    def __call__(self, tables):
        "One query over every table (a wizard's point checks them all)"
        if not tables:
            return hashlib.sha1().hexdigest()
        query = ' UNION ALL '.join(
            f'SELECT {n}, COUNT(*), MAX(id), MAX(write_date), '
            f'MAX(create_date) FROM "{table}"'
            for n, table in enumerate(tables))
        rows = sorted(self.connection.execute(query).fetchall())
        digest = hashlib.sha1()
        for (_, *row), table in zip(rows, tables):
            digest.update(repr((table, tuple(map(str, row)))).encode())
        return digest.hexdigest()

    def close(self):
        self.connection.close()


def check_stored(values, fields, limits):
    """The problems of values read back from the server: a stored value that
    is not finite, beyond the bounds or of a wrong type"""
    problems = []
    for name, value in values.items():
        field = fields.get(name, {})
        kind = field.get('type')
        if kind in {'float', 'numeric', 'integer'} and value is not None:
            if not isinstance(value, (int, float, Decimal)):
                problems.append((name, value, 'type'))
            elif isinstance(value, float) and not math.isfinite(value) \
                    or isinstance(value, Decimal) and not value.is_finite():
                problems.append((name, value, 'not finite'))
            elif abs(value) > limits['number']:
                problems.append((name, value, 'beyond bounds'))
        elif kind in {'char', 'text'} and isinstance(value, str):
            if len(value) > limits['text']:
                problems.append((name, len(value), 'too long'))
        elif kind == 'date' and value is not None:
            if not isinstance(value, datetime.date) or not (
                    limits['date_min'] <= value <= limits['date_max']):
                problems.append((name, value, 'date beyond bounds'))
    return problems


# The runner

class Stats:
    "Per entry point: examples tried, crashed, and the first crashes"

    def __init__(self):
        self.points = {}

        self.accepted = {}
        self.seconds = {}

    def record(self, point, crash=None, accepted=False):
        tried, crashed, samples = self.points.get(point.key, (0, 0, []))
        tried += 1
        if crash:
            crashed += 1
            if len(samples) < 3:
                samples.append(crash)
        self.points[point.key] = (tried, crashed, samples)
        self.accepted[point.key] = (
            self.accepted.get(point.key, 0) + bool(accepted))

    def timed(self, point, seconds):
        self.seconds[point.key] = self.seconds.get(point.key, 0) + seconds

    @property
    def tried(self):
        return sum(t for t, _, _ in self.points.values())

    @property
    def crashed(self):
        return sum(c for _, c, _ in self.points.values())

    def lines(self):
        width = max([len(k) for k in self.points] + [10])
        for key, (tried, crashed, samples) in sorted(self.points.items()):
            accepted = self.accepted.get(key, 0)
            ms = 1000 * self.seconds.get(key, 0) / max(tried, 1)
            yield (f'{key:<{width}}  {tried:>7} tried  {crashed:>5} crashed'
                f'  ({accepted} accepted, {ms:.0f} ms each)')
            for sample in samples:
                yield '    ' + sample
        seconds = sum(self.seconds.values())
        yield (f'fuzz: {self.tried} tried, {self.crashed} crashed'
            f' in {seconds:.0f} s')


def _short(value, size=300):
    text = repr(value)
    return text if len(text) <= size else text[:size] + '...'


class Fuzzer:
    def __init__(self, finance, admin, checksum, limits, stats):
        self.finance = finance
        self.admin = admin
        self.checksum = checksum
        self.limits = limits
        self.stats = stats
        self._wizard_models = {}

    def run(self, point, examples):
        from hypothesis import HealthCheck, Phase, given, settings

        # make test draws the same examples each run (a failure in CI is
        # reproducible); make fuzz (FUZZ_RANDOM=1) draws new ones each time.
        @settings(max_examples=examples, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            derandomize=os.environ.get('FUZZ_RANDOM') != '1')
        @given(st.data())
        def probe(data):
            crash, accepted = self.example(point, data)
            self.stats.record(point, crash, accepted)
        probe()

    def _draw_values(self, data, fields, base=None):
        values = dict(base or {})
        if not fields:
            return values
        names = data.draw(st.lists(st.sampled_from(sorted(fields)),
                min_size=1, max_size=3, unique=True))
        for name in names:
            values[name] = data.draw(value_for(fields[name]))
        return values

    def _draw_ids(self, data, point):
        known = (st.lists(st.sampled_from(point.ids), min_size=1,
                max_size=2, unique=True) if point.ids else st.just([]))
        return data.draw(st.one_of(known, known, known,
                st.lists(ids, max_size=3), wrong_types))

    def example(self, point, data):
        "Send one hostile call; the crash it caused, or None"
        before = self.checksum(point.tables)
        if point.kind == 'wizard':
            answer, call, written = self._wizard(point, data)
        else:
            if point.kind == 'create':
                values = self._draw_values(data, point.fields, point.base)
                vlist = data.draw(st.one_of(st.just([values]),
                        st.just([values]), st.just([values]), wrong_types))
                params = [vlist]
            elif point.kind == 'write':
                values = self._draw_values(data, point.fields)
                params = [self._draw_ids(data, point), values]
            else:
                params = [self._draw_ids(data, point)]
            method = f'model.{point.model}.{point.name or point.kind}'
            call = (method, params)
            answer = self.finance.call(method, params)
            written = None
            if answer.kind == 'result' and point.kind in {'create', 'write'}:
                record_ids = (answer.value if point.kind == 'create'
                    else params[0])
                written = (record_ids, list(values))
        return (self.judge(point, call, answer, before, written),
            answer.kind == 'result')

    def judge(self, point, call, answer, before, written):
        if answer.kind == 'fault':
            return f'FAULT {_short(call)} -> {_short(answer.value, 600)}'
        if answer.kind in {'user_error', 'rejected'}:
            if (answer.kind == 'user_error'
                    and not is_translated(answer.message)):
                return (f'UNTRANSLATED {_short(call)} -> '
                    f'{_short(answer.value)}')
            if self.checksum(point.tables) != before:
                return (f'WROTE ON REFUSAL {_short(call)} -> '
                    f'{_short(answer.value)}')
            return None
        if written:
            record_ids, names = written
            names = [n for n in names if n in point.fields]
            reread = self.admin.call(
                f'model.{point.model}.read', [record_ids, names])
            if reread.kind == 'result':
                for row in reread.value:
                    problems = check_stored(row, point.fields, self.limits)
                    if problems:
                        return (f'INVALID RECORD {_short(call)} -> '
                            f'{_short(problems)}')
        return None

    def wizard_model(self, wizard):
        if wizard not in self._wizard_models:
            answer = self.admin.call('model.ir.action.wizard.search_read', [
                    [('wiz_name', '=', wizard)], 0, 1, None, ['model']])
            model = (answer.value[0]['model']
                if answer.kind == 'result' and answer.value else None)
            record_ids = []
            if model:
                found = self.admin.call(
                    f'model.{model}.search', [[], 0, 20, None])
                record_ids = found.value if found.kind == 'result' else []
            self._wizard_models[wizard] = (model, record_ids)
        return self._wizard_models[wizard]

    def _wizard(self, point, data):
        "Start the wizard on a record and press a button with hostile values"
        model, record_ids = self.wizard_model(point.model)
        known = (st.sampled_from(record_ids) if record_ids
            else st.just(None))
        active_id = data.draw(st.one_of(known, known, known, ids,
                wrong_types))
        context = {'active_model': data.draw(st.one_of(
                    st.just(model), st.just(model), st.just(model),
                    st.sampled_from(['sale.subscription', 'res.user',
                            'account.invoice']), wrong_types)),
            'active_id': active_id,
            'active_ids': data.draw(st.one_of(
                    st.just([active_id]), st.lists(ids, max_size=3),
                    wrong_types)),
            }
        name = f'wizard.{point.model}'
        answer = self.finance.call(f'{name}.create', [])
        if answer.kind != 'result':
            return answer, (f'{name}.create', []), None
        session, state, _ = answer.value
        try:
            call = (f'{name}.execute', [session, {}, state], context)
            answer = self.finance.call(
                f'{name}.execute', [session, {}, state], context=context)
            if answer.kind != 'result' or 'view' not in answer.value:
                return answer, call, None
            view = answer.value['view']
            fields = view['fields_view']['fields']
            buttons = [b['state'] for b in view.get('buttons', [])
                if b['state'] != 'end'] or ['end']
            values = dict(view.get('defaults') or {})
            values.update(view.get('values') or {})
            values = self._draw_values(data, fields, values)
            button = data.draw(st.sampled_from(buttons))
            form = data.draw(st.one_of(st.just({view['state']: values}),
                    st.just({view['state']: values}), wrong_types))
            call = (f'{name}.execute', [session, form, button], context)
            answer = self.finance.call(
                f'{name}.execute', [session, form, button], context=context)
            return answer, call, None
        finally:
            self.finance.call(f'{name}.delete', [session])
