# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from .validation import InputMixin

CONFIGURATION_ACCOUNTS = {
    'customer_credit_account', 'customer_credit_expiry_account',
    'compensation_account'}


def AccountTypeMixin(template=False):

    class Mixin:
        __slots__ = ()
        customer_credit = fields.Boolean(
            "Customer Credit",
            domain=[
                If(Eval('statement') != 'balance',
                    ('customer_credit', '=', False), ()),
                ],
            states={
                'invisible': Eval('statement') != 'balance',
                },
            help="Accounts of this type hold the prepaid balances of "
            "customers: they can be used on customer invoice lines.")
    if not template:
        for fname in dir(Mixin):
            field = getattr(Mixin, fname)
            if not isinstance(field, fields.Field):
                continue
            field.states['readonly'] = (
                Bool(Eval('template', -1)) & ~Eval('template_override', False))
    return Mixin


class AccountTypeTemplate(InputMixin, AccountTypeMixin(template=True), metaclass=PoolMeta):
    __name__ = 'account.account.type.template'

    @classmethod
    def default_customer_credit(cls):
        return False

    def _get_type_value(self, type=None):
        values = super()._get_type_value(type=type)
        if not type or type.customer_credit != self.customer_credit:
            values['customer_credit'] = self.customer_credit
        return values


class AccountType(InputMixin, AccountTypeMixin(), metaclass=PoolMeta):
    __name__ = 'account.account.type'

    @classmethod
    def default_customer_credit(cls):
        return False


class Configuration(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.configuration'

    customer_credit_account = fields.MultiValue(fields.Many2One(
            'account.account', "Customer Credit Account",
            domain=[
                ('closed', '!=', True),
                ('type.customer_credit', '=', True),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The liability account holding the prepaid balances "
            "(credits) of the subscription customers."))
    customer_credit_expiry_account = fields.MultiValue(fields.Many2One(
            'account.account', "Expired Customer Credit Account",
            domain=[
                ('closed', '!=', True),
                ('type.statement', '=', 'income'),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The income account the remainder of an expired credit "
            "is booked to."))
    customer_credit_journal = fields.MultiValue(fields.Many2One(
            'account.journal', "Customer Credit Journal",
            domain=[
                ('type', '=', 'general'),
                ],
            help="The journal of the moves granting, reversing and "
            "expiring credits."))
    compensation_account = fields.MultiValue(fields.Many2One(
            'account.account', "Compensation Account",
            domain=[
                ('closed', '!=', True),
                ('type.revenue', '=', True),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The revenue account (e.g. sales allowances) "
            "compensations are booked to; their taxes are those of the "
            "compensated lines."))

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in CONFIGURATION_ACCOUNTS:
            return pool.get('account.configuration.default_account')
        if field == 'customer_credit_journal':
            return pool.get('account.configuration.journal')
        return super().multivalue_model(field)

    @classmethod
    def default_customer_credit_journal(cls, **pattern):
        return cls.multivalue_model(
            'customer_credit_journal').default_customer_credit_journal()


class ConfigurationDefaultAccount(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.configuration.default_account'

    customer_credit_account = fields.Many2One(
        'account.account', "Customer Credit Account",
        domain=[
            ('closed', '!=', True),
            ('type.customer_credit', '=', True),
            ('company', '=', Eval('company', -1)),
            ])
    customer_credit_expiry_account = fields.Many2One(
        'account.account', "Expired Customer Credit Account",
        domain=[
            ('closed', '!=', True),
            ('type.statement', '=', 'income'),
            ('company', '=', Eval('company', -1)),
            ])
    compensation_account = fields.Many2One(
        'account.account', "Compensation Account",
        domain=[
            ('closed', '!=', True),
            ('type.revenue', '=', True),
            ('company', '=', Eval('company', -1)),
            ])


class ConfigurationJournal(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.configuration.journal'

    customer_credit_journal = fields.Many2One(
        'account.journal', "Customer Credit Journal",
        domain=[
            ('type', '=', 'general'),
            ],
        context={
            'company': Eval('company', -1),
            })

    @classmethod
    def default_customer_credit_journal(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('account', 'journal_miscellaneous')
        except KeyError:
            return None


class Move(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['sale.subscription.credit']
