# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
from collections import defaultdict, namedtuple

from sql import As, Column, Select, Table

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .money import _add, _decimal_quantity
from .period import billing_end, billing_start, period_bounds
from .tier import usage_table
from .usage_charge import window_charges
from .usage_window import ON_DEMAND_PERIODS, tier_phase, usage_windows
from .exceptions import UsageError
from . import bounds
from .validation import InputMixin, check_bounds


# A usage line as the rating reads it: its record (the charges' origin)
# and the plain values of its billing, read in one query
UsageLine = namedtuple('UsageLine', ['id', 'record', 'billing_period',
        'billing_start', 'billing_end', 'unit_price', 'service', 'rounding'])


def _read_column(Model, table, name, alias=None):
    "The column of a field as ModelSQL.read selects it (typed on SQLite)"
    column = Column(table, name).as_(alias or name)
    if backend.name == 'sqlite':
        column.output_name += ' [%s]' % Model._fields[name].sql_type().base
    return column


class Consumption(InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription.line.consumption'

    consumed_at = fields.DateTime(
        "Consumed At",
        help="When the consumption happened (UTC); its date follows it. "
        "Hourly usage is invoiced per hour of this time; without it, the "
        "consumption counts at 00:00 UTC of its date.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The rating reads the rows of its lines by date (pending up to a
        # day, invoiced within a month): without it each hourly rating
        # scans every consumption of every line since the start
        cls._sql_indexes.add(Index(t,
                (t.line, Index.Range()), (t.date, Index.Range())))

    @fields.depends('consumed_at')
    def on_change_consumed_at(self):
        if self.consumed_at:
            self.date = self.consumed_at.date()

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('consumed_at'):
            values['date'] = values['consumed_at'].date()
        return values

    @classmethod
    def validate_fields(cls, consumptions, field_names):
        super().validate_fields(consumptions, field_names)
        cls.check_usage(consumptions, field_names)
        check_bounds(consumptions, field_names, {
                'quantity': bounds.QUANTITY,
                })

    @classmethod
    def check_usage(cls, consumptions, field_names=None):
        if field_names and not (field_names & {
                    'line', 'date', 'consumed_at', 'quantity'}):
            return
        for consumption in consumptions:
            line = consumption.line
            if (consumption.consumed_at
                    and consumption.consumed_at.date() != consumption.date):
                raise UsageError(gettext(
                        'subscription_core.msg_consumption_date_time',
                        consumption=consumption.rec_name,
                        time=consumption.consumed_at))
            if line.billing_type != 'usage':
                continue
            if consumption.quantity < 0:
                raise UsageError(gettext(
                        'subscription_core.msg_consumption_negative',
                        consumption=consumption.rec_name,
                        line=line.rec_name))
            end = line.billing_end
            if (consumption.date < line.billing_start
                    or (end and consumption.date >= end)):
                raise UsageError(gettext(
                        'subscription_core.msg_consumption_outside',
                        date=consumption.date, line=line.rec_name))

    @property
    def billing_moment(self):
        "When the consumption counts for its billing window (naive UTC)"
        return self.consumed_at or self.date

    @classmethod
    def get_due_usage_charges(cls, lines, until):
        """(origin, Charge) of the usage windows of lines ended at
        until, one per line and window, with the consumptions they bill as
        the charge's sources.

        The origin is the subscription line for the first invoice of a day,
        month, quarter, year or total window; a window already invoiced
        (late consumptions) or an hour window is keyed by its first
        consumption, so that the (origin, billing_start) key stays unique.
        Usage accumulates in a phase (the window, or its month for on-demand
        windows) to find the tier prices.
        """
        lines_by_id = cls._usage_lines(lines)
        if not lines_by_id:
            return []
        day = until.date() if isinstance(until, datetime.datetime) else until
        # Per line its (id, moment, quantity), and what each window prices,
        # in order: (moment, id, quantity)
        pending = defaultdict(list)
        usage = {}
        for id_, line_id, moment, quantity, _ in cls._usage_rows(
                lines_by_id, [
                    ('invoice_line', '=', None),
                    ('date', '<=', day),
                    ], by_date=True):
            pending[line_id].append((id_, moment, quantity))
            usage[id_] = (moment, id_, quantity)
        windows = {}
        for line_id, consumptions in pending.items():
            line = lines_by_id[line_id]
            line_windows = usage_windows(consumptions,
                line.billing_period, until, line.billing_start,
                line.billing_end)
            if line_windows:
                windows[line] = line_windows
        if not windows:
            return []
        pricing = {}
        phase_used, invoiced_windows = cls._get_invoiced_usage(
            windows, pricing=pricing)
        # The same per line, read once
        used, adjusted = defaultdict(dict), defaultdict(dict)
        for (line_id, phase), quantity in phase_used.items():
            used[line_id][phase] = quantity
        for (line_id, start), invoice_line in invoiced_windows.items():
            adjusted[line_id][start] = invoice_line
        charges = []
        described = {}
        for line, line_windows in windows.items():
            charges.extend(cls._get_line_usage_charges(
                    line, line_windows, used[line.id], adjusted[line.id],
                    usage, described=described, pricing=pricing))
        return charges

    @classmethod
    def _usage_lines(cls, lines):
        """The usage lines of lines as UsageLine per id, their values read
        in one query per slice (not through each record's fields: the
        rating reads a few values of many lines)"""
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Subscription = pool.get('sale.subscription')
        Currency = pool.get('currency.currency')
        line = Line.__table__()
        subscription = Subscription.__table__()
        currency = Currency.__table__()
        cursor = Transaction().connection.cursor()
        records = {l.id: l for l in lines}
        columns = [
            _read_column(Line, line, 'id'),
            _read_column(Line, line, 'billing_period'),
            _read_column(Line, line, 'start_date'),
            _read_column(Line, line, 'end_date'),
            _read_column(Subscription, subscription, 'start_date',
                'subscription_start'),
            _read_column(Subscription, subscription, 'end_date',
                'subscription_end'),
            _read_column(Line, line, 'unit_price'),
            _read_column(Line, line, 'service'),
            _read_column(Currency, currency, 'rounding'),
            ]
        query = line.join(subscription,
            condition=line.subscription == subscription.id
            ).join(currency,
            condition=subscription.currency == currency.id)
        usage_lines = {}
        for sub_ids in grouped_slice(
                sorted(records), backend.MAX_QUERY_PARAMS):
            cursor.execute(*query.select(*columns,
                    where=line.id.in_(list(sub_ids))
                    & (line.billing_type == 'usage'),
                    order_by=[line.id.asc]))
            for (id_, period, start, end, subscription_start,
                    subscription_end, unit_price, service,
                    rounding) in cursor:
                usage_lines[id_] = UsageLine(id_, records[id_], period,
                    billing_start(start, subscription_start),
                    billing_end(end, subscription_end), unit_price, service,
                    rounding)
        return usage_lines

    @classmethod
    def _usage_rows(cls, line_ids, domain, by_date=False):
        """The consumptions of line_ids that match domain, as plain rows
        (id, line id, moment, quantity, invoice_line id), one query per
        slice of lines, ordered by date and id (by_date) or by id; moment
        is consumed_at or the date's 00:00 (billing_moment, a naive UTC
        datetime), quantity an exact Decimal (money._decimal_quantity).

        Rows, not records: trytond instantiates each record of a list with
        the whole list (quadratic in the consumptions of a search). The
        ids come from the search of the domain (access rules included).
        Plain tuples, each date's midnight and each float's Decimal made
        once: a rating reads a row per line and day.
        """
        cursor = Transaction().connection.cursor()
        midnight, combine = datetime.time(), datetime.datetime.combine
        midnights, decimals = {}, {}
        for sub_ids in grouped_slice(
                sorted(line_ids), backend.MAX_QUERY_PARAMS):
            query = cls.search(
                [('line', 'in', list(sub_ids))] + domain,
                order=[], query=True)
            cursor.execute(*cls._usage_rows_query(query, by_date))
            # fetchall: the rows of a slice of lines in one call
            for id_, line, date, consumed_at, quantity, invoice_line in (
                    cursor.fetchall()):
                if consumed_at is None:
                    consumed_at = midnights.get(date)
                    if consumed_at is None:
                        consumed_at = midnights[date] = combine(
                            date, midnight)
                # Floats only (1 == 1.0, their Decimals are not), not 0.0
                # (-0.0 is equal, its Decimal is not)
                cached = quantity and type(quantity) is float
                exact = decimals.get(quantity) if cached else None
                if exact is None:
                    exact = _decimal_quantity(quantity)
                    if cached:
                        decimals[quantity] = exact
                yield (id_, line, consumed_at, exact, invoice_line)

    @classmethod
    def _usage_rows_query(cls, query, by_date):
        """The query of _usage_rows' columns and order for the ids a search
        query gives: that query itself, its columns and order replaced,
        when it selects the ids of one table (its conditions, the access
        rules included, unchanged); the rows of those ids otherwise. One
        scan instead of two and a join: 2 of the 8 ms of a month's rows."""
        def select(table):
            "The columns and the order of the rows in table"
            columns = [_read_column(cls, table, name) for name in [
                    'id', 'line', 'date', 'consumed_at', 'quantity',
                    'invoice_line']]
            if by_date:
                order_by = [table.date.asc, table.id.asc]
            else:
                order_by = [table.id.asc]
            return columns, order_by

        id_column = (query.columns[0] if isinstance(query, Select)
            and len(query.columns) == 1 else None)
        if (isinstance(id_column, As)
                and isinstance(id_column.expression, Column)
                and id_column.expression.name == 'id'
                and len(query.from_) == 1
                and query.from_[0] is id_column.expression.table
                and isinstance(query.from_[0], Table)
                and query.from_[0]._name == cls._table
                and not query.group_by and not query.having
                and query.limit is None and not query.offset
                and not query.distinct):
            table = query.from_[0]
            query.columns, query.order_by = select(table)
            return query
        table = cls.__table__()
        columns, order_by = select(table)
        return table.select(*columns,
            where=table.id.in_(query), order_by=order_by)

    @classmethod
    def _usage_pricing(cls, service, pricing=None):
        """(tiers, tier mode, label) of a usage service (its id): its tiers
        validated (a tier.TierTable), its block size (a tier.PackageTable)
        in the package mode, or None (tier.usage_table), and its product's
        name, kept in pricing per service id (the lines of a rating share
        a few services). The service and its tiers are read in two
        queries, not through records (a rating reads few values)."""
        if pricing is None:
            pricing = {}
        if service not in pricing:
            pool = Pool()
            Service = pool.get('sale.subscription.service')
            Tier = pool.get('sale.subscription.service.tier')
            Product = pool.get('product.product')
            Template = pool.get('product.template')
            table = Service.__table__()
            product = Product.__table__()
            tier = Tier.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.join(product,
                    condition=table.product == product.id).select(
                    _read_column(Service, table, 'billing_type'),
                    _read_column(Service, table, 'tier_mode'),
                    _read_column(Service, table, 'package_size'),
                    _read_column(Product, product, 'template'),
                    where=table.id == service))
            billing_type, tier_mode, package_size, template = (
                cursor.fetchone())
            cursor.execute(*tier.select(
                    _read_column(Tier, tier, 'from_quantity'),
                    _read_column(Tier, tier, 'unit_price'),
                    where=tier.service == service))
            table, mode = usage_table(billing_type, tier_mode,
                package_size, cursor.fetchall())
            # The name in the context's language
            pricing[service] = (table, mode, Template(template).name)
        return pricing[service]

    @classmethod
    def _get_invoiced_usage(cls, windows, pricing=None):
        """Usage already invoiced around the windows to bill

        Return the quantity invoiced per (line id, tier phase) and the
        invoice line per (line id, window start) that already bills a
        window.
        """
        # Only the days of the windows to bill (late usage), and for tiered
        # lines the whole phases of these windows
        ranges = defaultdict(list)
        for line, line_windows in windows.items():
            first, last = line_windows[0], line_windows[-1]
            start, end = first.start, last.end
            tiers, _, _ = cls._usage_pricing(line.service, pricing)
            if tiers and line.billing_period in ON_DEMAND_PERIODS:
                start = min(start, tier_phase(
                        first.period_start, line.billing_period))
                end = max(end, period_bounds(
                        tier_phase(
                            last.period_start, line.billing_period),
                        'month')[1])
            ranges[start, end].append(line.id)
        phase_used = defaultdict(int)
        invoiced_windows = {}
        invoiced = defaultdict(list)
        for (start, end), line_ids in ranges.items():
            for row in cls._usage_rows(line_ids, [
                        ('invoice_line', '!=', None),
                        ('date', '>=', start),
                        ('date', '<', end),
                        ]):
                invoiced[row[1]].append(row)
        for line in windows:
            rows = invoiced.get(line.id)
            if not rows:
                continue
            invoice_lines = {id_: invoice_line
                for id_, _, _, _, invoice_line in rows}
            for window in usage_windows(
                    ((id_, moment, quantity)
                        for id_, _, moment, quantity, _ in rows),
                    line.billing_period, datetime.datetime.max,
                    line.billing_start, line.billing_end):
                phase = tier_phase(
                    window.period_start, line.billing_period)
                phase_used[line.id, phase] = _add(
                    phase_used[line.id, phase], window.quantity)
                invoiced_windows[line.id, window.period_start] = min(
                    invoice_lines[k] for k in window.keys)
        return phase_used, invoiced_windows

    @classmethod
    def link_billing_lines(cls, invoice_lines, charges):
        "Link the consumptions billed by charges to their invoice lines"
        sources = {(str(o), c.start): c.sources for o, c in charges
            if c.sources}
        to_write = []
        for invoice_line in invoice_lines:
            ids = sources.get(
                (str(invoice_line.origin), invoice_line.billing_start))
            if ids:
                to_write.extend(
                    (cls.browse(ids), {'invoice_line': invoice_line.id}))
        if to_write:
            cls.write(*to_write)
        Pool().get('account.invoice.line.rating_trace').create_traces(
            invoice_lines, charges)

    @classmethod
    def _get_line_usage_charges(
            cls, line, windows, used, adjusted, usage, described=None,
            pricing=None):
        """(origin, Charge) of the windows of a usage line (a UsageLine)

        used: the quantity invoiced per tier phase of the line (updated);
        adjusted: the invoice line per window start that already bills the
        window; usage gives (moment, id, quantity) of each consumption: a
        window prices its consumptions one after the other, each at the
        tier the usage of the phase before it reached
        (tier.price_in_order), and keeps that as the charge's trace
        (usage_charge.window_charges, with the service's tiers validated
        once per rating)."""
        tiers, mode, label = cls._usage_pricing(line.service, pricing)

        def describe_late(description):
            return gettext('subscription_core.msg_usage_late',
                description=description)
        record = line.record
        return [(record if origin is None else cls(origin), charge)
            for origin, charge in window_charges(
                windows, usage, line.billing_period, line.unit_price,
                line.rounding, tiers, mode, used, adjusted, label,
                describe_late, described)]
