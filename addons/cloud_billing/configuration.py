# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The cloud billing settings of each company.

Tryton's way (``account.configuration``): a ``ModelSingleton`` whose
``MultiValue`` fields read and write the value of the company of the
context in a ``CompanyValueMixin`` model; code reads the settings of a
company with ``Configuration(1).get_multivalue(name, company=...)`` or
``get_for(company)``.
"""
import copy

from sql import Column
from sql.aggregate import Min

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    ModelSingleton, ModelSQL, ModelView, Unique, fields)
from trytond.modules.company.model import (
    CompanyMultiValueMixin, CompanyValueMixin)
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from . import grace
from .exceptions import GraceConfigurationError
from subscription_core import bounds
from subscription_core.validation import InputMixin, check_bounds

# The settings, all in the one value model of a company.
SETTINGS = ['pre_expiry_days', 'shelve_grace_hours', 'retention_days',
    'deletion_warning_days', 'destructive_limit', 'automation_paused',
    'remote_wait', 'stranded_timeout']
# The settings the singleton's own table held (migration from 8.0.0)
SETTINGS_8_0_0 = SETTINGS[:7]


def multivalue_field(Value, name):
    """A MultiValue field of a singleton: a copy of the field of Value

    Not translatable itself: the value record is read and written in the
    language of the context.
    """
    field = copy.deepcopy(getattr(Value, name))
    if hasattr(field, 'translate'):
        field.translate = False
    return fields.MultiValue(field)


def multivalue_default(name):
    "A default_<name> of a singleton: the one of its value model"
    @classmethod
    def default(cls, **pattern):
        Value = cls.multivalue_model(name)
        func = getattr(Value, 'default_%s' % name, None)
        return func() if func else None
    return default


def company_value(Singleton, field, company):
    """The value record of company for the value model of field: the saved
    one, or a new one with the defaults (not saved)

    Read with Tryton's MultiValue lookup (the values are cached), not from
    the singleton's fields: a singleton never saved reads its defaults.
    """
    company_id = company.id if hasattr(company, 'id') else company
    pattern = {'company': company_id}
    with without_check_access():
        for value in Singleton(1).multivalue_records(field):
            if value.match(pattern, match_none=False):
                return value
    Value = Singleton.multivalue_model(field)
    names = [n for n, f in Singleton._fields.items()
        if isinstance(f, fields.MultiValue)
        and Singleton.multivalue_model(n) == Value]
    values = dict.fromkeys(names)
    values.update(Value.default_get(names, with_rec_name=False))
    return Value(company=company_id, **values)


def migrate_company_rows(Value, Singleton, columns, module):
    """Migration from 8.0.0: the rows of Singleton's table, one per company,
    become the values (of a new table) of Value

    Value is registered before Singleton (tryton.cfg): the singleton's
    table must hold one row when it gets its constraint."""
    handler = Singleton.__table_handler__(module)
    if not handler.column_exist('company'):
        return
    cursor = Transaction().connection.cursor()
    table = Value.__table__()
    old = Singleton.__table__()
    columns = ['company'] + columns
    cursor.execute(*table.insert(
            [Column(table, c) for c in columns],
            old.select(*[Column(old, c) for c in columns])))
    # The singleton keeps one row, without the columns that moved
    cursor.execute(*old.delete(where=old.id != old.select(Min(old.id))))
    for column in columns:
        handler.drop_column(column)


class CompanySettingsMixin:
    """The settings of one company (one row a company), moved from the
    columns ``_settings`` of the singleton ``_singleton`` by the migration"""
    __slots__ = ()
    _singleton = None
    _settings = []
    _company_unique_message = None

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_unique', Unique(t, t.company),
                cls._company_unique_message),
            ]

    @classmethod
    def __register__(cls, module):
        exist = backend.TableHandler.table_exist(cls._table)
        super().__register__(module)
        if not exist:
            migrate_company_rows(
                cls, Pool().get(cls._singleton), cls._settings, module)


class ConfigurationCompany(
        CompanySettingsMixin, InputMixin, ModelSQL, CompanyValueMixin):
    "Cloud Billing Configuration of a Company"
    __name__ = 'cloud_billing.configuration.company'
    _singleton = 'cloud_billing.configuration'
    _settings = SETTINGS_8_0_0
    _company_unique_message = 'cloud_billing.msg_configuration_company_unique'

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
        "Destructive Actions in 24 Hours", required=True,
        help="At most this number of shelve and delete actions (planned "
        "by the jobs or by hand) start in any 24 hours; above it a run "
        "holds its new ones in a batch a finance manager releases, and "
        "alerts the finance managers once.")
    automation_paused = fields.Boolean(
        "Pause Automation",
        help="While checked, the billing jobs run no scheduled billing "
        "action of the company (they stay planned); giving the service "
        "back after a payment still runs.")
    remote_wait = fields.Integer(
        "Remote Wait", required=True,
        help="Seconds a queued shelve, unshelve or delete waits for the "
        "servers to reach their state before it is retried later.")
    stranded_timeout = fields.Integer(
        "Stranded Timeout", required=True,
        help="Minutes a billing action may stay running: past it, the "
        "hourly reaper reads the servers again and finishes the action or "
        "runs it again, and a finance manager may retry or cancel it.")

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

    @classmethod
    def default_stranded_timeout(cls):
        return grace.DEFAULTS['stranded_timeout']

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
        cls.check_stranded_timeout(configurations, field_names)

    @classmethod
    def check_stranded_timeout(cls, configurations, field_names=None):
        "The timeout is within its bounds and longer than the remote wait"
        if field_names and not (
                field_names & {'stranded_timeout', 'remote_wait'}):
            return
        minimum, maximum = grace.STRANDED_TIMEOUT_BOUNDS
        for configuration in configurations:
            timeout = configuration.stranded_timeout
            wait = configuration.remote_wait or 0
            if (not isinstance(timeout, int) or isinstance(timeout, bool)
                    or not minimum <= timeout <= maximum
                    or timeout * 60 <= wait):
                raise GraceConfigurationError(gettext(
                        'cloud_billing.msg_configuration_stranded_timeout',
                        company=(configuration.company.rec_name
                            if configuration.company else ''),
                        minimum=minimum, maximum=maximum, wait=wait,
                        value=timeout))

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


class Configuration(
        InputMixin, ModelSingleton, ModelSQL, ModelView,
        CompanyMultiValueMixin):
    "Cloud Billing Configuration"
    __name__ = 'cloud_billing.configuration'

    pre_expiry_days = multivalue_field(
        ConfigurationCompany, 'pre_expiry_days')
    shelve_grace_hours = multivalue_field(
        ConfigurationCompany, 'shelve_grace_hours')
    retention_days = multivalue_field(
        ConfigurationCompany, 'retention_days')
    deletion_warning_days = multivalue_field(
        ConfigurationCompany, 'deletion_warning_days')
    destructive_limit = multivalue_field(
        ConfigurationCompany, 'destructive_limit')
    automation_paused = multivalue_field(
        ConfigurationCompany, 'automation_paused')
    remote_wait = multivalue_field(
        ConfigurationCompany, 'remote_wait')
    stranded_timeout = multivalue_field(
        ConfigurationCompany, 'stranded_timeout')

    @classmethod
    def multivalue_model(cls, field):
        if field in SETTINGS:
            return Pool().get('cloud_billing.configuration.company')
        return super().multivalue_model(field)

    default_pre_expiry_days = multivalue_default('pre_expiry_days')
    default_shelve_grace_hours = multivalue_default('shelve_grace_hours')
    default_retention_days = multivalue_default('retention_days')
    default_deletion_warning_days = multivalue_default(
        'deletion_warning_days')
    default_destructive_limit = multivalue_default('destructive_limit')
    default_automation_paused = multivalue_default('automation_paused')
    default_remote_wait = multivalue_default('remote_wait')
    default_stranded_timeout = multivalue_default('stranded_timeout')

    @classmethod
    def get_for(cls, company):
        "The settings of company: its values, or the defaults when none"
        return company_value(cls, SETTINGS[0], company)

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
