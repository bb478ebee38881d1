# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
import json
from collections import defaultdict

from sql import Conflict, Expression
from sql.operators import In

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.rpc import RPC
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from subscription_core.validation import (
    InputMixin, InputRPC, check_model_access)

from . import payload
from .exceptions import EventError, IngestError

# The states of the subscriptions that take usage
USAGE_STATES = {'running', 'closed'}


def _message(error):
    "The translated message of a payload.EventInputError"
    return gettext('billing_usage.msg_event_%s' % error.code, **error.params)


class Event(InputMixin, ModelSQL, ModelView):
    "Usage Event"
    __name__ = 'billing_usage.event'
    __string__ = "Usage Event"

    company = fields.Many2One('company.company', "Company", required=True)
    transaction_id = fields.Char(
        "Transaction ID", required=True, size=payload.ID_SIZE, strip=False,
        help="The producer's id of the event, unique per company: an event "
        "sent again is a duplicate and never counted twice.")
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True,
        ondelete='RESTRICT')
    line = fields.Many2One(
        'sale.subscription.line', "Subscription Line", required=True,
        ondelete='RESTRICT',
        help="The usage line whose service is rated from the metric.")
    metric = fields.Many2One(
        'billing_usage.metric', "Metric", required=True, ondelete='RESTRICT')
    timestamp = fields.DateTime("Timestamp", required=True, help="In UTC.")
    timestamp_end = fields.DateTime("End",
        help="In UTC, for usage over the range [timestamp, end); empty for "
        "an instant.")
    properties = fields.Text("Properties", required=True)
    aggregated = fields.Boolean(
        "Aggregated", readonly=True,
        help="Counted in the daily usage rows.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('transaction_unique', Unique(t, t.company, t.transaction_id),
                'billing_usage.msg_event_transaction_unique'),
            ]
        cls._sql_indexes.update({
                Index(t,
                    (t.line, Index.Range()),
                    (t.metric, Index.Range()),
                    (t.timestamp, Index.Range())),
                Index(t, (t.aggregated, Index.Equality(cardinality='low')),
                    where=t.aggregated == False),  # noqa: E712
                })
        cls._order = [('timestamp', 'DESC'), ('id', 'DESC')]
        cls.__rpc__.update({
                'ingest': InputRPC.wrap(
                    RPC(readonly=False, instantiate=None), 'ingest'),
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_aggregated(cls):
        return False

    @classmethod
    def default_properties(cls):
        return '{}'

    def get_rec_name(self, name):
        return self.transaction_id

    @classmethod
    def validate_fields(cls, events, field_names):
        super().validate_fields(events, field_names)
        cls.check_event(events, field_names)

    @classmethod
    def check_event(cls, events, field_names=None):
        "The checks of ingest, for events created otherwise"
        if field_names and not (field_names & {
                    'transaction_id', 'subscription', 'line', 'metric',
                    'timestamp', 'timestamp_end', 'properties', 'company'}):
            return
        for event in events:
            try:
                properties = json.loads(event.properties)
                item = {
                    'transaction_id': event.transaction_id,
                    'subscription': event.subscription.number or '',
                    'metric': event.metric.code,
                    'timestamp': event.timestamp,
                    'properties': properties,
                    }
                if event.timestamp_end:
                    item['end'] = event.timestamp_end
                payload.read_event(item)
                error = cls._check_target(
                    event.subscription, event.metric, [event.line],
                    event.timestamp, properties)
            except (ValueError, RecursionError) as error:
                if isinstance(error, payload.EventInputError):
                    message = _message(error)
                else:
                    message = gettext('billing_usage.msg_event_properties_type')
                raise EventError(gettext('billing_usage.msg_event_invalid',
                        event=event.rec_name, error=message))
            if not error and (
                    event.subscription.company != event.company
                    or event.line.subscription != event.subscription):
                error = gettext('billing_usage.msg_event_subscription',
                    value=event.subscription.rec_name)
            if error:
                raise EventError(gettext('billing_usage.msg_event_invalid',
                        event=event.rec_name, error=error))

    @classmethod
    def check_modification(cls, mode, events, values=None, external=False):
        super().check_modification(
            mode, events, values=values, external=external)
        if mode in {'write', 'delete'} and external:
            # What was received is a record of what the producer sent
            raise EventError(gettext('billing_usage.msg_event_immutable'))

    @classmethod
    def _check_target(cls, subscription, metric, lines, timestamp,
            properties):
        "The message of what makes the event not billable, or None"
        message, _ = _Target(subscription, lines).check(
            _MetricRule(metric), timestamp, properties)
        return message

    @classmethod
    def _check_input_ingest(cls, args, context, method):
        "ingest takes one list of events over RPC"
        if len(args) != 1 or not isinstance(args[0], (list, tuple)):
            raise IngestError(gettext('billing_usage.msg_ingest_arguments'))

    @classmethod
    def ingest(cls, events):
        """Store the usage events of a batch, each once

        events is a list of event items (see payload.read_event). Return
        for each, at its index, {'status': 'accepted'}, {'status':
        'duplicate'} (its transaction id was received before, in this
        batch or an earlier one) or {'status': 'error', 'message': ...}; a
        refused event writes nothing, the others of the batch are kept.
        The caller needs the right to create usage events.
        """
        check_model_access(cls, 'create')
        if not isinstance(events, (list, tuple)):
            raise IngestError(gettext('billing_usage.msg_ingest_arguments'))
        try:
            payload.check_count(events)
        except payload.EventInputError as error:
            raise IngestError(_message(error))
        company_id = Transaction().context.get('company')
        if not isinstance(company_id, int) or company_id <= 0:
            raise IngestError(gettext('billing_usage.msg_ingest_no_company'))
        with without_check_access():
            return cls._ingest(events, company_id)

    @classmethod
    def _ingest(cls, items, company_id):
        """The results of items: the per-event work is plain Python on what
        one lookup per batch read (_Target, _MetricRule), the accepted
        events are stored by one statement per slice (_insert)"""
        results = [None] * len(items)
        events = {}
        for index, item in enumerate(items):
            try:
                events[index] = payload.read_event(item)
            except payload.EventInputError as error:
                results[index] = _error(_message(error))
        targets = cls._ingest_subscriptions(
            {e['subscription'] for e in events.values()}, company_id)
        metrics = cls._ingest_metrics(
            {e['metric'] for e in events.values()}, company_id)
        rows, seen = {}, set()
        dumps = _CANONICAL.encode
        for index, event in events.items():
            target = targets.get(event['subscription'])
            metric = metrics.get(event['metric'])
            line_id = None
            if not target:
                message = gettext('billing_usage.msg_event_subscription',
                    value=event['subscription'])
            elif not metric:
                message = gettext('billing_usage.msg_event_metric',
                    value=event['metric'])
            else:
                message, line_id = target.check(
                    metric, event['timestamp'], event['properties'])
            if message:
                results[index] = _error(message)
                continue
            transaction_id = event['transaction_id']
            if transaction_id in seen:
                results[index] = {'status': 'duplicate'}
                continue
            seen.add(transaction_id)
            rows[index] = (transaction_id, target.id, line_id, metric.id,
                event['timestamp'], event.get('end'),
                dumps(event['properties']))
        inserted = cls._insert(company_id, list(rows.values()))
        for index, row in rows.items():
            results[index] = {
                'status': 'accepted' if row[0] in inserted else 'duplicate'}
        return results

    @classmethod
    def _ingest_subscriptions(cls, numbers, company_id):
        "The _Target of each subscription number of the company"
        Subscription = Pool().get('sale.subscription')
        found = {}
        for sub_numbers in grouped_slice(
                sorted(numbers), backend.MAX_QUERY_PARAMS):
            for subscription in Subscription.search([
                        ('number', 'in', list(sub_numbers)),
                        ('company', '=', company_id),
                        ]):
                found[subscription.number] = _Target(
                    subscription, subscription.lines)
        return found

    @classmethod
    def _ingest_metrics(cls, codes, company_id):
        "The _MetricRule of each metric code of the company"
        Metric = Pool().get('billing_usage.metric')
        found = {}
        for sub_codes in grouped_slice(
                sorted(codes), backend.MAX_QUERY_PARAMS):
            for metric in Metric.search([
                        ('code', 'in', list(sub_codes)),
                        ('company', '=', company_id),
                        ]):
                found[metric.code] = _MetricRule(metric)
        return found

    @classmethod
    def _insert(cls, company_id, rows):
        """Insert rows, skipping those whose transaction id the company has
        already: the unique index decides, also between concurrent
        requests (the second waits for the first and skips). Return the
        transaction ids inserted.

        Rows are inserted in the order of their transaction ids, so that
        two requests that share ids wait for each other instead of
        deadlocking. On PostgreSQL one statement takes the whole batch as
        one JSON text (``INSERT … SELECT … FROM json_to_recordset(…) ON
        CONFLICT DO NOTHING RETURNING``); elsewhere multi-row ``VALUES`` by slices of the
        backend's parameters."""
        if not rows:
            return set()
        rows = sorted(rows)
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        now = datetime.datetime.now()
        if backend.name == 'postgresql':
            cursor.execute(_PG_INSERT % {'table': cls._table}, (
                    company_id, transaction.user, now, _JSON.encode([{
                                'i': i, 's': s, 'l': l, 'm': m,
                                'd': d.isoformat(),
                                'e': e.isoformat() if e else None, 'p': p}
                            for i, s, l, m, d, e, p in rows])))
            return {r for r, in cursor}
        table = cls.__table__()
        columns = [table.company, table.transaction_id, table.subscription,
            table.line, table.metric, table.timestamp, table.timestamp_end,
            table.properties,
            table.aggregated, table.create_uid, table.create_date]
        inserted = set()
        size = max(1, backend.MAX_QUERY_PARAMS // len(columns))
        for sub_rows in grouped_slice(rows, size):
            values = [[company_id, *r, False, transaction.user, now]
                for r in sub_rows]
            cursor.execute(*table.insert(columns, values,
                    on_conflict=Conflict(table, indexed_columns=[
                            table.company, table.transaction_id]),
                    returning=[_Unqualified('transaction_id')]))
            inserted.update(r for r, in cursor)
        return inserted

    @classmethod
    def pending(cls, before):
        """(line id, metric id, day) of the events not aggregated yet whose
        day ended at before (a date): the days of a range [timestamp, end)
        too (ended ones), whichever the selection at period boundaries"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.line, table.metric, table.timestamp,
                table.timestamp_end,
                where=(table.aggregated == False)  # noqa: E712
                & (table.timestamp < datetime.datetime.combine(
                        before, datetime.time()))))
        keys = set()
        for line, metric, timestamp, end in cursor:
            for day in event_days(timestamp, end, before):
                keys.add((line, metric, day))
        return keys

    @property
    def last_day(self):
        "The last day the event may count in"
        return event_days(self.timestamp, self.timestamp_end)[-1]

    @classmethod
    def mark_aggregated(cls, event_ids):
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for sub_ids in grouped_slice(event_ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.update(
                    [table.aggregated], [True],
                    where=In(table.id, list(sub_ids))))


def _datetime(value):
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    return value


def event_days(timestamp, end, before=None):
    """The days [timestamp, end) overlaps (the day of timestamp for an
    instant), before the date before"""
    timestamp, end = _datetime(timestamp), _datetime(end)
    days = [timestamp.date()]
    if end and end > timestamp:
        last = (end - datetime.timedelta(microseconds=1)).date()
        while days[-1] < last:
            days.append(days[-1] + datetime.timedelta(days=1))
    if before:
        days = [d for d in days if d < before]
    return days


class _Unqualified(Expression):
    """A column named without its table's alias: SQLite's RETURNING refuses
    the alias python-sql gives the table of an INSERT … ON CONFLICT"""
    __slots__ = ('name',)

    def __init__(self, name):
        super().__init__()
        self.name = name

    def __str__(self):
        return '"%s"' % self.name

    @property
    def params(self):
        return ()


def _error(message):
    return {'status': 'error', 'message': message}


# The properties as stored: canonical JSON
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(',', ':'))
_JSON = json.JSONEncoder(separators=(',', ':'))
# The rows come as one JSON text that PostgreSQL reads itself
# (json_to_recordset): psycopg dumps Python lists as arrays in Python, value
# by value, which cost more than the rest of the ingestion
_PG_INSERT = (
    'INSERT INTO "%(table)s" AS t ("company", "transaction_id", '
    '"subscription", "line", "metric", "timestamp", "timestamp_end", '
    '"properties", "aggregated", "create_uid", "create_date") '
    'SELECT %%s, u.i, u.s, u.l, u.m, u.d, u.e, u.p, false, %%s, %%s '
    'FROM json_to_recordset(%%s::json) AS u('
    'i varchar, s integer, l integer, m integer, d timestamp, '
    'e timestamp, p text) '
    'ON CONFLICT ("company", "transaction_id") DO NOTHING '
    'RETURNING "transaction_id"')


class _MetricRule:
    "What the checks of an event read of its metric, read once per batch"
    __slots__ = ('metric', 'id', 'reads_number', 'unique', 'field_name')

    def __init__(self, metric):
        self.metric = metric
        self.id = metric.id
        self.reads_number = metric.reads_number
        self.unique = metric.aggregation == 'unique_count'
        self.field_name = metric.field_name

    @property
    def rec_name(self):
        return self.metric.rec_name


class _Target:
    """A subscription as the checks of its events read it, once per batch:
    its state and dates, and per metric the usage lines rated from it with
    their billed days [billing_start, billing_end)"""
    __slots__ = ('subscription', 'id', 'state', 'start', 'end', 'lines')

    def __init__(self, subscription, lines):
        self.subscription = subscription
        self.id = subscription.id
        self.state = subscription.state
        self.start = subscription.start_date
        self.end = subscription.end_date
        self.lines = defaultdict(list)
        for line in lines:
            service = line.service
            if (line.billing_type == 'usage' and service
                    and service.usage_metric and line.start_date):
                self.lines[service.usage_metric.id].append(
                    (line.id, line.billing_start, line.billing_end))

    def line(self, metric_id, day):
        "The id of the usage line rated from the metric on day, or None"
        for line_id, start, end in self.lines.get(metric_id, ()):
            if start <= day and (not end or day < end):
                return line_id

    def check(self, metric, timestamp, properties):
        """(message, None) of what makes the event not billable, or (None,
        the id of its usage line)"""
        subscription = self.subscription
        if self.state not in USAGE_STATES:
            return gettext('billing_usage.msg_event_subscription_state',
                subscription=subscription.rec_name), None
        day = timestamp.date()
        if day < self.start or (self.end and day > self.end):
            return gettext('billing_usage.msg_event_outside',
                timestamp=timestamp,
                subscription=subscription.rec_name), None
        line_id = self.line(metric.id, day)
        if line_id is None:
            return gettext('billing_usage.msg_event_no_line',
                subscription=subscription.rec_name, metric=metric.rec_name,
                day=day), None
        try:
            if metric.reads_number:
                payload.property_number(properties, metric.field_name)
            elif metric.unique:
                if properties.get(metric.field_name) is None:
                    raise payload.EventInputError(
                        'property_missing', key=metric.field_name)
        except payload.EventInputError as error:
            return _message(error), None
        return None, line_id
