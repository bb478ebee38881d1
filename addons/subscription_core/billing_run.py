# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.wizard import Button, StateTransition, StateView, Wizard
from .validation import InputMixin, WizardInputMixin

from .exceptions import BillingRunDateError
from .ir import job_date

# Scheduled jobs of the engine, in the order a billing day runs them:
# (cron method, model, classmethod)
BILLING_JOBS = [
    ('sale.subscription|create_billing_lines', "Create Invoice Lines"),
    ('sale.subscription|create_on_demand_invoices',
        "Create On-Demand Invoices"),
    ('sale.subscription|close_billing_cycle', "Close Billing Cycle"),
    ('account.dunning|run_dunning_ladder', "Run Dunning Ladder"),
    ('sale.subscription.billing.action|process', "Process Billing Actions"),
    ('sale.subscription.credit|expire', "Expire Credits"),
    ]


# The jobs of a billing day, in the order they depend on each other: the
# close posts the lines just created, the ladder reads the posted invoices,
# the actions follow the ladder; credits expire last (as in BILLING_JOBS,
# whose numbers the documentation uses). One scheduled job runs them for one day
# (ir.cron|run_billing_day), so that none starts before the one before ends.
DAILY_JOBS = [
    'sale.subscription|create_billing_lines',
    'sale.subscription|close_billing_cycle',
    'account.dunning|run_dunning_ladder',
    'sale.subscription.billing.action|process',
    'sale.subscription.credit|expire',
    ]
BILLING_DAY = 'ir.cron|run_billing_day'
# The reaper of stranded billing actions: its own hourly job, not a step of
# the billing day (a stranded action waits an hour at most).
REAPER = ('sale.subscription.billing.action|reap',
    "Recover Stranded Billing Actions")
# The emails whose send failed are tried again by their own job, every few
# minutes (email_.py).
RETRY_JOB = ('ir.email|send_failed_emails', "Send Failed Emails Again")


def run_billing_job(job, date):
    """Run one job for date, with Tryton's own dates following date

    The date is passed down as an argument; ``job_date`` makes the dates
    Tryton stamps itself (dunning date, move post date) follow it. Callers
    that take the date from a user check it first (``check_run_date``).
    """
    model, method = job.split('|')
    Model = Pool().get(model)
    with job_date(date):
        return getattr(Model, method)(date=date)


def check_run_date(date):
    """Refuse to run billing for a day after the server's date

    A job run for a later day would bill periods not yet served and shelve
    or delete before the day planned. A date in the past is allowed: it
    re-runs a missed day.
    """
    today = Pool().get('ir.date').server_today()
    if date and date > today:
        raise BillingRunDateError(gettext(
                'subscription_core.msg_billing_run_future_date',
                date=date, today=today))


class Cron(InputMixin, metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend(BILLING_JOBS + [
                (BILLING_DAY, "Run Billing Day"),
                REAPER,
                RETRY_JOB,
                ])

    @classmethod
    def run_billing_day(cls, date=None):
        """Run the jobs of a billing day for date (today), in order

        The date is taken once: a run that crosses midnight bills one day.
        """
        if date is None:
            date = Pool().get('ir.date').today()
        for job in DAILY_JOBS:
            run_billing_job(job, date)


class RunBillingStart(InputMixin, ModelView):
    "Run Billing Job"
    __name__ = 'sale.subscription.billing.run.start'

    date = fields.Date("Date", required=True,
        help="The day the job runs for: periods due on that day are "
        "invoiced, invoices of its cycle are closed.")
    job = fields.Selection(BILLING_JOBS + [
            ('all', "All Jobs, in Order"),
            ], "Job", required=True, sort=False)

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_job(cls):
        return 'all'


class RunBilling(WizardInputMixin, Wizard):
    "Run Billing Job"
    __name__ = 'sale.subscription.billing.run'
    start = StateView('sale.subscription.billing.run.start',
        'subscription_core.billing_run_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Run", 'run', 'tryton-ok', default=True),
            ])
    run = StateTransition()

    @classmethod
    def _jobs(cls):
        return [job for job, _ in BILLING_JOBS]

    def transition_run(self):
        check_run_date(self.start.date)
        jobs = (self._jobs() if self.start.job == 'all'
            else [self.start.job])
        for job in jobs:
            run_billing_job(job, self.start.date)
        return 'end'


class CreateSubscriptionInvoice(WizardInputMixin, metaclass=PoolMeta):
    "sale_subscription's invoicing wizard runs job (1): not for a later day"
    __name__ = 'sale.subscription.create_invoice'

    def transition_create_(self):
        check_run_date(self.start.date)
        return super().transition_create_()


class CreateLineConsumption(WizardInputMixin, metaclass=PoolMeta):
    "sale_subscription's consumption wizard: not for a later day either"
    __name__ = 'sale.subscription.line.consumption.create'

    def transition_create_(self):
        check_run_date(self.start.date)
        return super().transition_create_()
