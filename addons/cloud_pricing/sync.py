# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The sync of the pricing catalog from the provider's URL.

The scheduled job and the wizard only queue the sync: each records a
*Catalog Sync* (``cloud_pricing.catalog.sync_run``) and pushes an
``ir.queue`` task that fetches the document over HTTP(S) from
``[cloud_pricing] catalog_url``, checks it whole
(``catalog_document.read_catalog``) and only then applies it. A malformed
or partial document raises a translated ``CatalogSyncError`` before any
entry is written; the task records it on its Catalog Sync (*Failed*, with
the message), a sync that applied records its summary (*Done*). The entries
are written without access checks: nobody else may write them.
"""
import urllib.error
import urllib.parse
import urllib.request

from trytond.i18n import gettext
from trytond.model import Model, ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from subscription_core.validation import InputMixin, WizardInputMixin

from .catalog import get_option, server_now
from .catalog_document import MAX_DOCUMENT_SIZE, CatalogError, read_catalog
from .exceptions import CatalogSyncError

DEFAULT_TIMEOUT = 30

# The models the sync writes, in order: (section, model)
SYNCED_MODELS = [
    'cloud_pricing.sla_tier',
    'cloud_pricing.service_pricing',
    'cloud_pricing.sla_surcharge',
    'cloud_pricing.compute_plan',
    'cloud_pricing.storage',
    'cloud_pricing.discount_bracket',
    'cloud_pricing.component_spec',
    'cloud_pricing.csp_resource',
    ]


def fetch(url, timeout=DEFAULT_TIMEOUT):
    """The bytes at url (http or https only), at most MAX_DOCUMENT_SIZE

    Raise CatalogError 'fetch' when the URL is not HTTP or cannot be read.
    """
    if not isinstance(url, str) or urllib.parse.urlsplit(
            url).scheme not in {'http', 'https'}:
        raise CatalogError('url', f"not an HTTP URL: {url!r}", url=str(url))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read(MAX_DOCUMENT_SIZE + 1)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise CatalogError('fetch', f"{url}: {e}", url=url,
            error=str(e)[:200]) from e
    return data


class Catalog(Model):
    "Pricing Catalog"
    __string__ = "Pricing Catalog"
    __name__ = 'cloud_pricing.catalog'

    @classmethod
    def sync(cls, date=None):
        """Queue the sync of the catalog (the scheduled job, the wizard)

        date is the time of the job (the server's clock by default).
        Return the queued Catalog Sync.
        """
        SyncRun = Pool().get('cloud_pricing.catalog.sync_run')
        if not get_option('catalog_url'):
            raise CatalogSyncError(gettext('cloud_pricing.msg_catalog_no_url'))
        return SyncRun.queue(date or server_now())

    @classmethod
    def fetch_and_apply(cls):
        """Fetch the catalog and apply it (the queued task's work)

        Return {model: (created, updated, deactivated)}.
        """
        url = get_option('catalog_url')
        if not url:
            raise CatalogSyncError(gettext('cloud_pricing.msg_catalog_no_url'))
        timeout = get_option('timeout', int, DEFAULT_TIMEOUT)
        try:
            catalog = read_catalog(fetch(url, timeout=timeout))
        except CatalogError as e:
            raise CatalogSyncError(gettext(
                    'cloud_pricing.msg_catalog_%s' % e.code,
                    **dict(e.params, url=url))) from e
        return cls.apply(catalog, server_now())

    @classmethod
    @without_check_access
    def apply(cls, catalog, now):
        "Write the checked catalog; everything is converted before writing"
        pool = Pool()
        Currency = pool.get('currency.currency')
        codes = {v['currency'] for v in catalog['service_pricing'].values()}
        currencies = {c.code: c for c in Currency.search([
                    ('code', 'in', list(codes))])}
        missing = sorted(codes - set(currencies))
        if missing:
            raise CatalogSyncError(gettext(
                    'cloud_pricing.msg_catalog_currency', currency=missing[0]))
        for values in catalog['service_pricing'].values():
            values['currency'] = currencies[values['currency']]

        entries = {}
        for name in SYNCED_MODELS:
            Entry = pool.get(name)
            entries[name] = {key: Entry.sync_values(values)
                for key, values in catalog[Entry._sync_section].items()}
        result = {}
        for name in SYNCED_MODELS:
            result[name] = pool.get(name).sync_entries(entries[name], now)
        Assignment = pool.get('cloud_pricing.plan_assignment')
        result[Assignment.__name__] = Assignment.sync_assignments(
            catalog['compute_plans'], now)
        return result

    @classmethod
    def summary(cls, result):
        "The result of a sync as one translated line per model"
        IrModel = Pool().get('ir.model')
        return '\n'.join(gettext('cloud_pricing.msg_catalog_sync_summary',
                model=IrModel.get_name(name), created=created,
                updated=updated, deactivated=deactivated)
            for name, (created, updated, deactivated) in result.items())


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('cloud_pricing.catalog|sync', "Sync Pricing Catalog"))


class SyncRun(InputMixin, ModelSQL, ModelView):
    "Catalog Sync"
    __string__ = "Catalog Sync"
    __name__ = 'cloud_pricing.catalog.sync_run'

    queued_at = fields.Timestamp("Queued At", required=True, readonly=True,
        help="The time of the job (or of the button) that queued the sync.")
    state = fields.Selection([
            ('queued', "Queued"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True, sort=False)
    finished_at = fields.Timestamp("Finished At", readonly=True)
    url = fields.Char("Catalog URL", readonly=True)
    summary = fields.Text("Summary", readonly=True,
        help="Per model, the entries created, updated and deactivated.")
    message = fields.Text("Message", readonly=True,
        help="Why the catalog was refused: nothing was changed.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('queued_at', 'DESC'))

    @classmethod
    def default_state(cls):
        return 'queued'

    def get_rec_name(self, name):
        return str(self.queued_at)

    @classmethod
    @without_check_access
    def queue(cls, date):
        "Record a sync at date and push its ir.queue task"
        run = cls(queued_at=date, state='queued')
        run.save()
        cls.__queue__.run([run])
        return run

    @classmethod
    @without_check_access
    def run(cls, runs):
        """Fetch and apply the catalog for the queued runs (the task)

        Idempotent: a run that is no longer queued is left alone. A refused
        catalog changes nothing and is recorded on the run; any other error
        fails the task, which ir.queue runs again.
        """
        Catalog = Pool().get('cloud_pricing.catalog')
        runs = [r for r in runs if r.state == 'queued']
        if not runs:
            return
        url = get_option('catalog_url')
        try:
            summary = Catalog.summary(Catalog.fetch_and_apply())
        except CatalogSyncError as error:
            values = {'state': 'failed', 'message': error.message}
        else:
            values = {'state': 'done', 'summary': summary}
        values.update(finished_at=server_now(), url=url)
        cls.write(runs, values)


class SyncCatalogStart(InputMixin, ModelView):
    "Sync Pricing Catalog"
    __string__ = "Sync Pricing Catalog"
    __name__ = 'cloud_pricing.catalog.sync.start'

    url = fields.Char("Catalog URL", readonly=True)

    @classmethod
    def default_url(cls):
        return get_option('catalog_url')


class SyncCatalogDone(InputMixin, ModelView):
    "Pricing Catalog Synced"
    __string__ = "Pricing Catalog Synced"
    __name__ = 'cloud_pricing.catalog.sync.done'

    summary = fields.Text("Summary", readonly=True)


class SyncCatalog(WizardInputMixin, Wizard):
    "Sync Pricing Catalog"
    __string__ = "Sync Pricing Catalog"
    __name__ = 'cloud_pricing.catalog.sync'
    start = StateView('cloud_pricing.catalog.sync.start',
        'cloud_pricing.catalog_sync_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Sync", 'sync', 'tryton-refresh', default=True),
            ])
    sync = StateTransition()
    done = StateView('cloud_pricing.catalog.sync.done',
        'cloud_pricing.catalog_sync_done_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_sync(self):
        Catalog = Pool().get('cloud_pricing.catalog')
        run = Catalog.sync()
        self.done.summary = gettext('cloud_pricing.msg_catalog_sync_queued',
            queued_at=run.queued_at.replace(microsecond=0))
        return 'done'

    def default_done(self, fields):
        return {'summary': self.done.summary}
