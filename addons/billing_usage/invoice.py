# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The usage rows an invoice line billed, through its rating trace (the
engine's ``account.invoice.line.rating_trace``: consumption, tier,
quantity, unit price, exact amount) and the consumptions of the rows."""
from trytond.model import fields
from trytond.pool import PoolMeta


class RatingTrace(metaclass=PoolMeta):
    __name__ = 'account.invoice.line.rating_trace'

    usage_row = fields.Function(fields.Many2One(
            'billing_usage.row', "Daily Usage Row",
            help="The daily usage row whose quantity this trace priced."),
        'get_usage_row', searcher='search_usage_row')

    def get_usage_row(self, name):
        row = self.consumption.usage_row
        return row.id if row else None

    @classmethod
    def search_usage_row(cls, name, clause):
        return [('consumption.usage_row' + clause[0][len(name):],
                *clause[1:])]


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    usage_rows = fields.Function(fields.Many2Many(
            'billing_usage.row', None, None, "Daily Usage Rows",
            help="The daily usage rows this line billed."),
        'get_usage_rows')

    @classmethod
    def get_usage_rows(cls, lines, name):
        rows = {l.id: [] for l in lines}
        for line in lines:
            for trace in line.rating_traces:
                row = trace.consumption.usage_row
                if row and row.id not in rows[line.id]:
                    rows[line.id].append(row.id)
        return rows
