# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from subscription_core.validation import InputMixin

from .aggregation import NUMERIC, canonical
from .exceptions import MetricError, MetricModificationError

# The fields that decide what the events of a metric count
MEASURE_FIELDS = {'aggregation', 'field_name', 'group_by', 'filters'}


class Metric(InputMixin, DeactivableMixin, ModelSQL, ModelView):
    "Billable Metric"
    __name__ = 'billing_usage.metric'
    __string__ = "Billable Metric"

    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    code = fields.Char(
        "Code", required=True, size=100, strip=True,
        help="The metric of the events: their \"metric\" (CloudEvents "
        "\"type\"). Unique per company.")
    name = fields.Char("Name", required=True, size=200, translate=True)
    unit = fields.Char(
        "Unit", size=50,
        help="What a quantity of the metric counts, e.g. \"GiB-hours\".")
    aggregation = fields.Selection([
            ('count', "Count"),
            ('sum', "Sum"),
            ('max', "Maximum"),
            ('unique_count', "Unique Count"),
            ('latest', "Latest"),
            ('weighted_sum', "Time-Weighted Sum"),
            ], "Aggregation", required=True, sort=False,
        help="How the events of a day give its quantity:\n"
        "Count: the number of events.\n"
        "Sum: the sum of the property.\n"
        "Maximum: the largest value of the property.\n"
        "Unique Count: the number of distinct values of the property.\n"
        "Latest: the property of the last event of the day.\n"
        "Time-Weighted Sum: the property is a level held from each event "
        "to the next; the quantity is level × hours.")
    field_name = fields.Char(
        "Property", size=64,
        states={
            'invisible': Eval('aggregation') == 'count',
            },
        help="The property of the events the aggregation reads.")
    group_by = fields.Char(
        "Group By", size=64,
        help="A property whose values make rows of their own, e.g. "
        "\"flavor\".")
    filters = fields.One2Many(
        'billing_usage.metric.filter', 'metric', "Filters",
        help="Only the events whose properties have one of the values of "
        "each filter are counted; the others are kept, not counted.")
    services = fields.One2Many(
        'sale.subscription.service', 'usage_metric', "Services",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('code_unique', Unique(t, t.company, t.code),
                'billing_usage.msg_metric_code_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.code, Index.Equality())))
        cls._order.insert(0, ('code', 'ASC'))

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_aggregation(cls):
        return 'count'

    def get_rec_name(self, name):
        return '[%s] %s' % (self.code, self.name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('code', operator, operand, *extra),
            ('name', operator, operand, *extra),
            ]

    @property
    def usage_filters(self):
        "The filters as (property, frozenset of canonical values)"
        return [(f.field_name, f.value_set) for f in self.filters]

    @property
    def reads_number(self):
        return self.aggregation in NUMERIC

    @classmethod
    def validate_fields(cls, metrics, field_names):
        super().validate_fields(metrics, field_names)
        cls.check_property(metrics, field_names)

    @classmethod
    def check_property(cls, metrics, field_names=None):
        if field_names and not (field_names & {'aggregation', 'field_name'}):
            return
        for metric in metrics:
            if metric.aggregation != 'count' and not metric.field_name:
                raise MetricError(gettext(
                        'billing_usage.msg_metric_property_required',
                        metric=metric.rec_name))

    @classmethod
    def check_modification(cls, mode, metrics, values=None, external=False):
        super().check_modification(
            mode, metrics, values=values, external=external)
        if mode == 'delete' or (
                mode == 'write' and values.keys() & MEASURE_FIELDS):
            cls.check_no_events(metrics)

    @classmethod
    def check_no_events(cls, metrics):
        "What a metric counts does not change once it has events"
        Event = Pool().get('billing_usage.event')
        for metric in metrics:
            if Event.search([('metric', '=', metric.id)], limit=1):
                raise MetricModificationError(gettext(
                        'billing_usage.msg_metric_has_events',
                        metric=metric.rec_name))


class MetricFilter(InputMixin, ModelSQL, ModelView):
    "Billable Metric Filter"
    __name__ = 'billing_usage.metric.filter'
    __string__ = "Billable Metric Filter"

    metric = fields.Many2One(
        'billing_usage.metric', "Metric", required=True, ondelete='CASCADE')
    field_name = fields.Char("Property", required=True, size=64)
    values = fields.Text(
        "Values", required=True, size=10_000,
        help="One value per line; numbers match by value (1 and 1.0).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('metric')

    @property
    def value_set(self):
        return frozenset(
            canonical(_number_or_text(v.strip()))
            for v in (self.values or '').splitlines() if v.strip())

    @classmethod
    def check_modification(cls, mode, filters, values=None, external=False):
        pool = Pool()
        Metric = pool.get('billing_usage.metric')
        super().check_modification(
            mode, filters, values=values, external=external)
        metrics = {f.metric for f in filters}
        if mode == 'write' and values.get('metric'):
            metrics.add(Metric(values['metric']))
        Metric.check_no_events(list(metrics))


def _number_or_text(value):
    "A filter's value: a number when it reads as one, so that 1 matches 1.0"
    from decimal import Decimal, InvalidOperation
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    return number if number.is_finite() else value
