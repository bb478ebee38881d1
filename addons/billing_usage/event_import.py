# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The CSV import of usage events: finance's batch import, through the same
ingestion as the HTTP route (``billing_usage.event.ingest``)."""
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.wizard import Button, StateTransition, StateView, Wizard

from subscription_core.validation import InputMixin, WizardInputMixin

from . import csv_events
from .event import _message
from .exceptions import EventImportError

STATUSES = ('accepted', 'duplicate', 'error')


class EventImportStart(InputMixin, ModelView):
    "Import Usage Events"
    __name__ = 'billing_usage.event.import.start'
    __string__ = "Import Usage Events"

    file = fields.Binary(
        "File", required=True, filename='filename',
        help="A CSV file in UTF-8: a header with the columns "
        "transaction_id, subscription, metric, timestamp and optionally "
        "properties (a JSON object) or prop.<name> (one property each), "
        "then one event per line; at most 10,000 events.")
    filename = fields.Char("File Name", size=255)
    delimiter = fields.Selection([
            ('comma', "Comma (,)"),
            ('semicolon', "Semicolon (;)"),
            ('tab', "Tab"),
            ], "Delimiter", required=True, sort=False)

    @classmethod
    def default_delimiter(cls):
        return 'comma'


class EventImportResult(InputMixin, ModelView):
    "Usage Events Imported"
    __name__ = 'billing_usage.event.import.result'
    __string__ = "Usage Events Imported"

    accepted = fields.Integer("Accepted", readonly=True)
    duplicates = fields.Integer(
        "Duplicates", readonly=True,
        help="Events whose transaction ID was received before: not counted "
        "again.")
    refused = fields.Integer(
        "Refused", readonly=True,
        help="Events not stored; correct them and import them again.")
    report = fields.Text("Report", readonly=True)


class EventImport(WizardInputMixin, Wizard):
    "Import Usage Events"
    __name__ = 'billing_usage.event.import'
    __string__ = "Import Usage Events"
    start = StateView('billing_usage.event.import.start',
        'billing_usage.event_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-import', default=True),
            ])
    import_ = StateTransition()
    result = StateView('billing_usage.event.import.result',
        'billing_usage.event_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        Event = Pool().get('billing_usage.event')
        try:
            records = csv_events.read_file(self.start.file,
                csv_events.DELIMITERS.get(self.start.delimiter, ','))
        except csv_events.FileError as error:
            raise EventImportError(gettext(
                    'billing_usage.msg_event_import_file',
                    file=self.start.filename or '', error=_message(error)))
        results = [None] * len(records)
        items, indexes = [], []
        for index, (_, _, item) in enumerate(records):
            if isinstance(item, csv_events.EventInputError):
                results[index] = {
                    'status': 'error', 'message': _message(item)}
            else:
                items.append(item)
                indexes.append(index)
        for index, result in zip(indexes, Event.ingest(items)):
            results[index] = result
        counts = dict.fromkeys(STATUSES, 0)
        lines = []
        for (line, transaction, _), result in zip(records, results):
            status = result['status']
            counts[status] += 1
            lines.append(gettext(
                    'billing_usage.msg_event_import_%s' % status,
                    line=line,
                    transaction=csv_events._short(transaction),
                    message=result.get('message', '')))
        self.result.accepted = counts['accepted']
        self.result.duplicates = counts['duplicate']
        self.result.refused = counts['error']
        self.result.report = '\n'.join(lines)
        return 'result'

    def default_result(self, fields):
        return {
            'accepted': self.result.accepted,
            'duplicates': self.result.duplicates,
            'refused': self.result.refused,
            'report': self.result.report,
            }

