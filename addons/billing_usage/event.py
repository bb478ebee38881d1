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
        if subscription.state not in USAGE_STATES:
            return gettext('billing_usage.msg_event_subscription_state',
                subscription=subscription.rec_name)
        day = timestamp.date()
        end = subscription.end_date
        if day < subscription.start_date or (end and day > end):
            return gettext('billing_usage.msg_event_outside',
                timestamp=timestamp, subscription=subscription.rec_name)
        if not cls._event_line(lines, metric, day):
            return gettext('billing_usage.msg_event_no_line',
                subscription=subscription.rec_name, metric=metric.rec_name,
                day=day)
        try:
            if metric.reads_number:
                payload.property_number(properties, metric.field_name)
            elif metric.aggregation == 'unique_count':
                if properties.get(metric.field_name) is None:
                    raise payload.EventInputError(
                        'property_missing', key=metric.field_name)
        except payload.EventInputError as error:
            return _message(error)

    @staticmethod
    def _event_line(lines, metric, day):
        "The usage line among lines rated from metric on day, or None"
        for line in lines:
            service = line.service
            if (service and service.usage_metric == metric
                    and line.billing_type == 'usage'
                    and line.start_date and line.billing_start <= day
                    and (not line.billing_end or day < line.billing_end)):
                return line

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
        results = [None] * len(items)
        events = {}
        for index, item in enumerate(items):
            try:
                events[index] = payload.read_event(item)
            except payload.EventInputError as error:
                results[index] = _error(_message(error))
        subscriptions = cls._ingest_subscriptions(
            {e['subscription'] for e in events.values()}, company_id)
        metrics = cls._ingest_metrics(
            {e['metric'] for e in events.values()}, company_id)
        lines = cls._ingest_lines(subscriptions.values())
        rows, seen = {}, set()
        for index, event in events.items():
            subscription = subscriptions.get(event['subscription'])
            metric = metrics.get(event['metric'])
            if not subscription:
                message = gettext('billing_usage.msg_event_subscription',
                    value=event['subscription'])
            elif not metric:
                message = gettext('billing_usage.msg_event_metric',
                    value=event['metric'])
            else:
                message = cls._check_target(
                    subscription, metric, lines[subscription.id],
                    event['timestamp'], event['properties'])
            if message:
                results[index] = _error(message)
                continue
            if event['transaction_id'] in seen:
                results[index] = {'status': 'duplicate'}
                continue
            seen.add(event['transaction_id'])
            line = cls._event_line(
                lines[subscription.id], metric, event['timestamp'].date())
            rows[index] = (event['transaction_id'], subscription.id, line.id,
                metric.id, event['timestamp'], event.get('end'), json.dumps(
                    event['properties'], sort_keys=True, separators=(
                        ',', ':')))
        inserted = cls._insert(company_id, list(rows.values()))
        for index, row in rows.items():
            results[index] = {
                'status': 'accepted' if row[0] in inserted else 'duplicate'}
        return results

    @classmethod
    def _ingest_subscriptions(cls, numbers, company_id):
        Subscription = Pool().get('sale.subscription')
        found = {}
        for sub_numbers in grouped_slice(
                sorted(numbers), backend.MAX_QUERY_PARAMS):
            for subscription in Subscription.search([
                        ('number', 'in', list(sub_numbers)),
                        ('company', '=', company_id),
                        ]):
                found[subscription.number] = subscription
        return found

    @classmethod
    def _ingest_metrics(cls, codes, company_id):
        Metric = Pool().get('billing_usage.metric')
        found = {}
        for sub_codes in grouped_slice(
                sorted(codes), backend.MAX_QUERY_PARAMS):
            for metric in Metric.search([
                        ('code', 'in', list(sub_codes)),
                        ('company', '=', company_id),
                        ]):
                found[metric.code] = metric
        return found

    @classmethod
    def _ingest_lines(cls, subscriptions):
        "The usage lines rated from a metric, per subscription id"
        lines = defaultdict(list)
        for subscription in subscriptions:
            lines[subscription.id] = [l for l in subscription.lines
                if l.billing_type == 'usage' and l.service
                and l.service.usage_metric]
        return lines

    @classmethod
    def _insert(cls, company_id, rows):
        """Insert rows, skipping those whose transaction id the company has
        already: the unique index decides, also between concurrent
        requests (the second waits for the first and skips). Return the
        transaction ids inserted."""
        if not rows:
            return set()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        now = datetime.datetime.now()
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
