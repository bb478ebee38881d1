# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Records that only the module's own code creates, changes or deletes.

Credit movements, billing action events and limit changes are the books of
the billing: each one stands for something the module did (a grant move, a
state change, a *Change Limit*). They are child models (``__access__``): a
user gets the rights of the parent record, and ``ir.model.access`` rows on
the child cannot take any of them away (``ModelAccess.get_access`` keeps
the highest right over the model and its ``__access__`` parents). So the
child refuses every create, write and delete that comes with access check,
that is from a client (RPC, proteus as a user); the module's code runs
without it (buttons, wizard transitions, scheduled jobs, queued tasks,
``without_check_access``) and keeps writing them.
"""
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

from .exceptions import ModuleRecordAccessError


class ModuleRecordMixin:
    "Refuse client calls that create, write or delete the records"
    __slots__ = ()

    @classmethod
    def check_module_record(cls, mode):
        if Transaction().check_access:
            raise ModuleRecordAccessError(gettext(
                    f'subscription_core.msg_module_record_{mode}',
                    **cls.__names__()))

    @classmethod
    def create(cls, vlist):
        cls.check_module_record('create')
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        cls.check_module_record('write')
        super().write(*args)

    @classmethod
    def delete(cls, records):
        cls.check_module_record('delete')
        super().delete(records)


class AuditTrailMixin(ModuleRecordMixin):
    "A row of an audit trail: who did it, when and why; newest first"
    __slots__ = ()
    reason = fields.Text("Reason", required=True, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    date = fields.Timestamp("Date", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('date', 'DESC'),
            ('id', 'DESC'),
            ]


class LimitChange(ModuleRecordMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription.line.limit_change'
