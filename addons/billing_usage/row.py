# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
import json
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from subscription_core.billing_error import grouped, job_errors, run_isolated
from subscription_core.billing_run import check_run_date
from subscription_core.validation import InputMixin, WizardInputMixin

from .aggregation import (
    QUANTITY_PLACES, canonical, daily_quantities, day_start, hourly_quantities,
    matches)
from .boundary import last_period, period_start, selections
from .event import USAGE_STATES, event_days
from .exceptions import UsageRowError

_ONE_DAY = datetime.timedelta(days=1)
# The jobs that record the subscriptions they fail for (billing_error.py)
GENERATE_JOB = 'billing_usage.row|generate'
GENERATE_HOURS_JOB = 'billing_usage.row|generate_hours'


class Row(InputMixin, ModelSQL, ModelView):
    "Daily Usage Row"
    __name__ = 'billing_usage.row'
    __string__ = "Daily Usage Row"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True, readonly=True,
        ondelete='RESTRICT')
    line = fields.Many2One(
        'sale.subscription.line', "Subscription Line", required=True,
        readonly=True, ondelete='RESTRICT')
    metric = fields.Many2One(
        'billing_usage.metric', "Metric", required=True, readonly=True,
        ondelete='RESTRICT')
    group_value = fields.Char(
        "Group", readonly=True,
        help="The value of the metric's group-by property.")
    day = fields.Date("Day", required=True, readonly=True,
        help="The UTC day [00:00, 24:00) of the usage.")
    hour = fields.Integer("Hour", readonly=True,
        help="The UTC hour [hh:00, hh+1:00) of the usage, for the hourly "
        "rows of a line invoiced per hour; empty for a daily row.")
    quantity = fields.Numeric(
        "Quantity", digits=(16, QUANTITY_PLACES), required=True,
        readonly=True)
    unit = fields.Function(fields.Char("Unit"), 'get_unit')
    event_count = fields.Integer(
        "Events", required=True, readonly=True,
        help="The events of the day that the metric counts.")
    consumptions = fields.One2Many(
        'sale.subscription.line.consumption', 'usage_row', "Consumptions",
        readonly=True,
        help="What the engine bills of the row: more than one when usage "
        "arrived after the day was invoiced (late usage).")
    billed_quantity = fields.Function(fields.Numeric(
            "Invoiced Quantity", digits=(16, QUANTITY_PLACES)),
        'get_billed_quantity')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('row_hour_unique', Unique(
                    t, t.line, t.metric, t.group_value, t.day, t.hour),
                'billing_usage.msg_row_unique'),
            ]
        cls._sql_indexes.add(Index(t,
                (t.line, Index.Range()),
                (t.metric, Index.Range()),
                (t.day, Index.Range())))
        cls._order = [('day', 'DESC'), ('hour', 'DESC NULLS FIRST'),
            ('subscription', 'ASC'), ('metric', 'ASC'),
            ('group_value', 'ASC'), ('id', 'ASC')]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        # Migration from 8.0.0 (unreleased): the hour joined the key
        cls.__table_handler__(module).drop_constraint('row_unique')
        # A daily row has no hour, and NULLs are distinct in a unique
        # constraint: the daily rows get a partial unique index (PostgreSQL
        # and SQLite alike)
        cursor.execute(
            'CREATE UNIQUE INDEX IF NOT EXISTS billing_usage_row_day_uniq '
            'ON "%s" (line, metric, group_value, day) '
            'WHERE hour IS NULL' % table._name)

    def get_rec_name(self, name):
        label = '%s %s' % (self.metric.code, self.day)
        if self.hour is not None:
            label += ' %02d:00' % self.hour
        if self.group_value:
            label += ' (%s)' % self.group_value
        return label

    def get_unit(self, name):
        return self.metric.unit

    @classmethod
    def get_billed_quantity(cls, rows, name):
        return {r.id: _exact(sum(Decimal(str(c.quantity))
                    for c in r.consumptions if c.invoice_line))
            for r in rows}

    # Scheduled job: a day's events become its rows once the day ended.
    @classmethod
    def generate(cls, date=None):
        """Aggregate into daily rows the usage events of the days ended at
        date (their days before date), and bill the rows' quantities
        through the engine's consumptions.

        A day that got events since its rows were made is aggregated again;
        a time-weighted metric gets a row for every day up to date, its
        level held from the last event.

        A subscription that fails is left out, recorded on the billing
        errors and tried again by the next run (billing_error.py).
        """
        pool = Pool()
        Date = pool.get('ir.date')
        Event = pool.get('billing_usage.event')
        Line = pool.get('sale.subscription.line')
        if date is None:
            date = Date.today()
        with without_check_access():
            work = defaultdict(set)
            for line_id, metric_id, day in Event.pending(date):
                work[line_id, metric_id].add(day)
            lines = Line.search([
                    ('service.usage_metric.aggregation', '=', 'weighted_sum'),
                    ('usage_rows_until', '!=', None),
                    ('usage_rows_until', '<', date),
                    ('subscription.state', 'in', list(USAGE_STATES)),
                    ])
            with job_errors(GENERATE_JOB, date):
                return cls._generate_work(work, lines, date)

    @classmethod
    def regenerate(cls, start, end):
        """Aggregate again every day of [start, end) (ended days) that has
        events or rows in the company of the context, whether its events
        were aggregated or not, and bill the rows that changed; return
        them

        A subscription that fails is left out and recorded on the billing
        errors of the daily job, whose open errors stay open: the days
        outside [start, end) are the daily job's to retry.
        """
        pool = Pool()
        Event = pool.get('billing_usage.event')
        company_id = Transaction().context.get('company', -1)
        event = Event.__table__()
        cursor = Transaction().connection.cursor()
        with without_check_access():
            work = defaultdict(set)
            first, following = day_start(start), day_start(end)
            cursor.execute(*event.select(
                    event.line, event.metric, event.timestamp,
                    event.timestamp_end,
                    where=(event.company == company_id)
                    & (event.timestamp < following)
                    & ((event.timestamp >= first)
                        | (event.timestamp_end > first))))
            for line_id, metric_id, timestamp, timestamp_end in cursor:
                for day in event_days(timestamp, timestamp_end, end):
                    if day >= start:
                        work[line_id, metric_id].add(day)
            for row in cls.search([
                        ('company', '=', company_id),
                        ('day', '>=', start),
                        ('day', '<', end),
                        ]):
                work[row.line.id, row.metric.id].add(row.day)
            with job_errors(GENERATE_JOB, end, resolve=False):
                return cls._generate_work(work, [], end)

    @classmethod
    def _generate_work(cls, work, lines, date):
        """Aggregate the days of work ({(line id, metric id): days}) and of
        the time-weighted lines up to date; bill and return the rows
        changed. The subscriptions are isolated from each other in the
        job running (billing_error.run_isolated)."""
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Metric = pool.get('billing_usage.metric')
        company_id = Transaction().context.get('company', -1)
        lines = list(lines) + Line.browse({l for l, _ in work})
        metrics = defaultdict(set)
        for line in set(lines):
            if line.subscription.company.id != company_id:
                continue
            metric = line.service.usage_metric if line.service else None
            metrics[line.id] |= {m for l, m in work if l == line.id}
            if metric and metric.aggregation == 'weighted_sum':
                metrics[line.id].add(metric.id)

        def generate(line_ids):
            rows = []
            for line in Line.browse(line_ids):
                for metric_id in sorted(metrics[line.id]):
                    days = work[line.id, metric_id]
                    if cls._hourly(line, Metric(metric_id)):
                        hours = {day_start(d) + datetime.timedelta(hours=h)
                            for d in days for h in range(24)}
                        rows += cls._generate_hours(
                            line, Metric(metric_id), hours, day_start(date))
                    else:
                        rows += cls._generate_line(
                            line, metric_id, days, date)
            cls.bill(rows)
            return rows
        lines = sorted(Line.browse(list(metrics)),
            key=lambda l: (l.subscription.id, l.id))
        return run_isolated(
            grouped((l.subscription, l.id) for l in lines), generate)

    @staticmethod
    def _hourly(line, metric):
        """Whether the rows of line for metric are hourly: the line is
        invoiced per hour, its company invoices on demand hourly and the
        metric is not time-weighted (those rows are daily)"""
        Configuration = Pool().get('billing_usage.configuration')
        return (line.billing_period == 'hour'
            and metric.aggregation != 'weighted_sum'
            and Configuration.get_for(
                line.subscription.company).hourly_on_demand)

    # Scheduled with the on-demand invoices (hourly, at minute 0).
    @classmethod
    def generate_hours(cls, until):
        """Aggregate into hourly rows the events of the hours ended at until
        (a naive UTC datetime) of the lines whose rows are hourly (see
        _hourly), and bill the rows: usage sent at 13:30 is in the row of
        13:00, invoiced at 14:00. A subscription that fails is left out,
        recorded on the billing errors and tried again the next hour."""
        pool = Pool()
        Event = pool.get('billing_usage.event')
        Configuration = pool.get('billing_usage.configuration')
        company_id = Transaction().context.get('company', -1)
        configuration = Configuration.get_for(company_id)
        if not configuration.hourly_on_demand:
            return []
        selection = configuration.boundary_selection
        hour = datetime.timedelta(hours=1)
        with without_check_access():
            work = defaultdict(set)
            for event in Event.search([
                        ('company', '=', company_id),
                        ('aggregated', '=', False),
                        ('timestamp', '<', until),
                        ('line.billing_period', '=', 'hour'),
                        ('metric.aggregation', '!=', 'weighted_sum'),
                        ]):
                for first, _ in selections(event.timestamp,
                        event.timestamp_end, 'hour', selection):
                    if first + hour <= until:
                        work[event.line, event.metric].add(first)

            def generate(line_ids):
                rows = []
                for (line, metric), hours in work.items():
                    if line.id in line_ids:
                        rows += cls._generate_hours(line, metric, hours, until)
                cls.bill(rows)
                return rows
            lines = sorted({l for l, _ in work},
                key=lambda l: (l.subscription.id, l.id))
            with job_errors(GENERATE_HOURS_JOB, until.date()):
                return run_isolated(
                    grouped((l.subscription, l.id) for l in lines), generate)

    @classmethod
    def _generate_hours(cls, line, metric, hours, until):
        """Aggregate the hours (their starts) of (line, metric) into hourly
        rows; return the rows changed"""
        pool = Pool()
        Event = pool.get('billing_usage.event')
        Configuration = pool.get('billing_usage.configuration')
        hour = datetime.timedelta(hours=1)
        hours = {h for h in hours if h + hour <= until
            and line.billing_start <= h.date()
            and (not line.billing_end or h.date() < line.billing_end)}
        if not hours:
            return []
        selection = Configuration.get_for(
            line.subscription.company).boundary_selection
        first, last = min(hours), max(hours) + hour
        events = Event.search([
                ('line', '=', line.id),
                ('metric', '=', metric.id),
                ['OR', [
                        ('timestamp', '>=', first),
                        ('timestamp', '<', last),
                        ], [
                        ('timestamp', '<', first),
                        ('timestamp_end', '>', first),
                        ]],
                ], order=[('timestamp', 'ASC'), ('id', 'ASC')])
        by_group, counts = _group_events(
            events, metric, 'hour', selection, hours)
        quantities = {}
        for group, group_events in by_group.items():
            for start, quantity in hourly_quantities(metric.aggregation,
                    group_events, first, last, selection).items():
                if start in hours:
                    quantities[group, start.date(), start.hour] = quantity
        rows = cls._save_rows(line, metric,
            {(h.date(), h.hour) for h in hours}, quantities, counts,
            keep_zero=True)
        Event.mark_aggregated([e.id for e in events
                if (period_start(e.timestamp, 'hour') in hours
                    or e.timestamp < first)
                and last_period(e.timestamp, e.timestamp_end, 'hour',
                    'overlap') + hour <= until])
        return rows

    @classmethod
    def _generate_line(cls, line, metric_id, days, date):
        "Aggregate days of (line, metric) into rows; return the rows changed"
        pool = Pool()
        Event = pool.get('billing_usage.event')
        Line = pool.get('sale.subscription.line')
        Metric = pool.get('billing_usage.metric')
        Configuration = pool.get('billing_usage.configuration')
        metric = Metric(metric_id)
        weighted = metric.aggregation == 'weighted_sum'
        if weighted:
            end = date
            if line.billing_end:
                end = min(end, line.billing_end)
            start = min(days | {line.usage_rows_until or end})
            if start >= end:
                return []
            days = set(_days(start, end))
            domain = [('timestamp', '<', day_start(end))]
        else:
            # The usage of the line's dates only
            days = {d for d in days if line.billing_start <= d
                and (not line.billing_end or d < line.billing_end)}
            if not days:
                return []
            start, end = min(days), max(days) + _ONE_DAY
            domain = [['OR', [
                        ('timestamp', '>=', day_start(start)),
                        ('timestamp', '<', day_start(end)),
                        ], [
                        # A range that started before and overlaps
                        ('timestamp', '<', day_start(start)),
                        ('timestamp_end', '>', day_start(start)),
                        ]]]
        selection = Configuration.get_for(
            line.subscription.company).boundary_selection
        events = Event.search([
                ('line', '=', line.id),
                ('metric', '=', metric.id),
                ] + domain, order=[('timestamp', 'ASC'), ('id', 'ASC')])
        by_group, counts = _group_events(events, metric, 'day',
            'start' if weighted else selection,
            {day_start(d) for d in days})
        quantities = {}
        for group, group_events in by_group.items():
            for day, quantity in daily_quantities(
                    metric.aggregation, group_events, start, end,
                    selection=selection).items():
                if day in days:
                    quantities[group, day, None] = quantity
        rows = cls._save_rows(line, metric, {(d, None) for d in days},
            quantities, counts, keep_zero=not weighted)
        # An event whose range goes on after date is aggregated again the
        # next time
        Event.mark_aggregated([e.id for e in events
                if (e.timestamp.date() in days or e.timestamp.date() < start)
                and e.last_day < date])
        if weighted:
            Line.write([line], {'usage_rows_until': end})
        return rows

    @classmethod
    def _save_rows(cls, line, metric, periods, quantities, counts,
            keep_zero):
        """Create or update the rows of periods ((day, hour), hour None for
        a daily row); quantities and counts are keyed by (group, day,
        hour). Return the rows changed."""
        existing = {(r.group_value or '', r.day, r.hour): r
            for r in cls.search([
                    ('line', '=', line.id),
                    ('metric', '=', metric.id),
                    ('day', 'in', sorted({d for d, _ in periods})),
                    ])
            if (r.day, r.hour) in periods}
        to_create, to_save = [], []
        for key in sorted(quantities.keys() | existing.keys(),
                key=lambda k: (k[0], k[1], -1 if k[2] is None else k[2])):
            quantity = quantities.get(key, Decimal(0))
            count = counts.get(key, 0)
            row = existing.get(key)
            if row:
                if row.quantity != quantity or row.event_count != count:
                    row.quantity, row.event_count = quantity, count
                    to_save.append(row)
            elif quantity or (keep_zero and count):
                group, day, hour = key
                to_create.append(cls(
                        company=line.subscription.company,
                        subscription=line.subscription, line=line,
                        metric=metric, group_value=group, day=day, hour=hour,
                        quantity=quantity, event_count=count))
        cls.save(to_create + to_save)
        return to_create + to_save

    @classmethod
    def bill(cls, rows):
        """Put the part of each row not invoiced yet on one consumption of
        its line (the engine rates and invoices consumptions); a row that
        grew after it was invoiced gets a new one (late usage)."""
        Consumption = Pool().get('sale.subscription.line.consumption')
        to_create, to_write, to_delete = [], [], []
        for row in rows:
            billed = sum((Decimal(str(c.quantity))
                    for c in row.consumptions if c.invoice_line), Decimal(0))
            pending = [c for c in row.consumptions if not c.invoice_line]
            rest = row.quantity - billed
            if rest > 0:
                row.check_unit_digits(rest)
            if rest <= 0:
                # Less than was invoiced: nothing more to bill (a credit
                # is finance's decision)
                to_delete.extend(pending)
            elif pending:
                first, *others = pending
                if Decimal(str(first.quantity)) != rest:
                    to_write.extend(([first], {'quantity': float(rest)}))
                to_delete.extend(others)
            else:
                to_create.append({
                        'line': row.line.id,
                        'date': row.day,
                        # An hourly row is invoiced with the hour's window
                        'consumed_at': (day_start(row.day)
                            + datetime.timedelta(hours=row.hour)
                            if row.hour is not None else None),
                        'quantity': float(rest),
                        'usage_row': row.id,
                        })
        if to_delete:
            Consumption.delete(to_delete)
        if to_write:
            Consumption.write(*to_write)
        if to_create:
            Consumption.create(to_create)

    def check_unit_digits(self, quantity):
        """Refuse a quantity the unit of the line cannot hold: the
        consumption has the digits of the unit (the stock "Unit" has
        none), the row 6 decimals"""
        unit = self.line.unit
        if unit is None or unit.digits is None:
            return
        if quantity != round(quantity, unit.digits):
            raise UsageRowError(gettext(
                    'billing_usage.msg_row_quantity_unit_digits',
                    row=self.rec_name, line=self.line.rec_name,
                    quantity='{:f}'.format(quantity.normalize()),
                    unit=unit.rec_name, digits=unit.digits))


def _days(start, end):
    day = start
    while day < end:
        yield day
        day += _ONE_DAY


def _group_events(events, metric, period, selection, periods):
    """The events the metric counts, per group: ({group: [(moment, value,
    end)]}, {(group, day, hour): events counted}) for the periods (their
    starts; hour None for days) selected by selection"""
    filters = metric.usage_filters
    by_group = defaultdict(list)
    counts = defaultdict(int)
    for event in events:
        properties = json.loads(event.properties)
        if not matches(properties, filters):
            continue
        group = (canonical(properties.get(metric.group_by))
            if metric.group_by else '')
        by_group[group].append((event.timestamp, _value(
                    metric, properties), event.timestamp_end))
        for first, _ in selections(event.timestamp, event.timestamp_end,
                period, selection):
            if first in periods:
                counts[group, first.date(),
                    first.hour if period == 'hour' else None] += 1
    return by_group, counts


def _value(metric, properties):
    "What the aggregation of metric reads from the properties"
    if metric.aggregation == 'count':
        return None
    value = properties.get(metric.field_name)
    if metric.aggregation == 'unique_count':
        return canonical(value)
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _exact(value):
    return Decimal(value).quantize(Decimal(1).scaleb(-QUANTITY_PLACES))


class GenerateStart(InputMixin, ModelView):
    "Generate Usage Rows"
    __name__ = 'billing_usage.row.generate.start'
    __string__ = "Generate Usage Rows"

    date = fields.Date("Date", required=True,
        help="The events of the days before this date are aggregated.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class Generate(WizardInputMixin, Wizard):
    "Generate Usage Rows"
    __name__ = 'billing_usage.row.generate'
    __string__ = "Generate Usage Rows"
    start = StateView('billing_usage.row.generate.start',
        'billing_usage.row_generate_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Generate", 'generate', 'tryton-ok', default=True),
            ])
    generate = StateTransition()

    def transition_generate(self):
        Row = Pool().get('billing_usage.row')
        check_run_date(self.start.date)
        Row.generate(self.start.date)
        return 'end'
