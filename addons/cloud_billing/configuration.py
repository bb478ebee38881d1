# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from . import grace
from .exceptions import GraceConfigurationError
from subscription_core import bounds
from subscription_core.validation import InputMixin, check_bounds


class Configuration(InputMixin, ModelSQL, ModelView):
    "Cloud Billing Configuration"
    __name__ = 'cloud_billing.configuration'

    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')
    pre_expiry_days = fields.Integer(
        "Pre-Expiry Invoice Days", required=True,
        help="A prepaid subscription's renewal invoice is issued this many "
        "days before its period ends, due at the end of the period.")
    shelve_grace_hours = fields.Integer(
        "Shelve Grace Hours", required=True,
        help="How long after the reminder the servers are shelved "
        "(rounded up to whole days: the billing jobs run daily).")
    retention_days = fields.Integer(
        "Retention Days", required=True,
        help="How long shelved servers are kept before they are deleted.")
    deletion_warning_days = fields.Integer(
        "Deletion Warning Days", required=True,
        help="How many days before the deletion the customer is warned "
        "and the subscription becomes pending deletion.")
    destructive_limit = fields.Integer(
        "Destructive Actions per Run", required=True,
        help="Above this number of shelve and delete actions in one run, "
        "the run does none of them and alerts the finance managers.")
    automation_paused = fields.Boolean(
        "Pause Automation",
        help="While checked, the billing jobs run no scheduled billing "
        "action of the company (they stay planned); giving the service "
        "back after a payment still runs.")
    remote_wait = fields.Integer(
        "Remote Wait", required=True,
        help="Seconds a queued shelve, unshelve or delete waits for the "
        "servers to reach their state before it is retried later.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_unique', Unique(t, t.company),
                'cloud_billing.msg_configuration_company_unique'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_pre_expiry_days(cls):
        return grace.DEFAULTS['pre_expiry_days']

    @classmethod
    def default_shelve_grace_hours(cls):
        return grace.DEFAULTS['shelve_grace_hours']

    @classmethod
    def default_retention_days(cls):
        return grace.DEFAULTS['retention_days']

    @classmethod
    def default_deletion_warning_days(cls):
        return grace.DEFAULTS['deletion_warning_days']

    @classmethod
    def default_destructive_limit(cls):
        return grace.DEFAULTS['destructive_limit']

    @classmethod
    def default_automation_paused(cls):
        return False

    @classmethod
    def default_remote_wait(cls):
        return 300

    def get_rec_name(self, name):
        return self.company.rec_name if self.company else ''

    @classmethod
    def validate_fields(cls, configurations, field_names):
        super().validate_fields(configurations, field_names)
        check_bounds(configurations, field_names, {
                'pre_expiry_days': bounds.DAYS,
                'shelve_grace_hours': bounds.HOURS,
                'retention_days': bounds.DAYS,
                'deletion_warning_days': bounds.DAYS,
                'destructive_limit': bounds.COUNT,
                'remote_wait': bounds.SECONDS,
                })
        cls.check_durations(configurations, field_names)

    @classmethod
    def check_durations(cls, configurations, field_names=None):
        names = {'pre_expiry_days', 'shelve_grace_hours', 'retention_days',
            'deletion_warning_days', 'destructive_limit', 'remote_wait'}
        if field_names and not (field_names & names):
            return
        for configuration in configurations:
            try:
                configuration.check_settings()
                if (configuration.remote_wait is None
                        or configuration.remote_wait < 0):
                    raise grace.GraceSettingError(
                        'remote_wait', configuration.remote_wait)
            except grace.GraceSettingError as e:
                raise GraceConfigurationError(gettext(
                        'cloud_billing.msg_configuration_setting',
                        company=(configuration.company.rec_name
                            if configuration.company else ''),
                        setting=cls.fields_get([e.name])[e.name]['string'],
                        value=e.value)) from e

    def check_settings(self):
        "Raise grace.GraceSettingError when a duration is not usable"
        grace.check_settings(
            self.pre_expiry_days, self.shelve_grace_hours,
            self.retention_days, self.deletion_warning_days,
            self.destructive_limit)

    @classmethod
    def get_for(cls, company):
        """The configuration of company: its record or the defaults

        An unsaved record with the defaults when the company has none.
        """
        company_id = company.id if hasattr(company, 'id') else company
        with without_check_access():
            records = cls.search([('company', '=', company_id)], limit=1)
        if records:
            return records[0]
        return cls(company=company_id, **{
                name: getattr(cls, 'default_%s' % name)()
                for name in ['pre_expiry_days', 'shelve_grace_hours',
                    'retention_days', 'deletion_warning_days',
                    'destructive_limit', 'automation_paused',
                    'remote_wait']})

    @classmethod
    def finance_managers(cls, company):
        "The active users of the finance manager group in company"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        group_id = ModelData.get_id(
            'subscription_core', 'group_billing_finance_manager')
        company_id = company.id if hasattr(company, 'id') else company
        with without_check_access():
            return User.search([
                    ('groups', '=', group_id),
                    ('companies', '=', company_id),
                    ])
