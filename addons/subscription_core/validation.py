# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Input checks at the RPC boundary and the business bounds of the models.

trytond hands the arguments of a JSON-RPC call to the ORM as the client sent
them: a list where ids are expected, a float NaN, a 10 MB text or a date at
``date.max`` reach the SQL layer or crash inside trytond with a server fault.
``InputMixin`` (models) and ``WizardInputMixin`` (wizards) replace the RPC
definitions of create, write, the buttons and the wizard calls of each class
of the two modules by ``InputRPC``, which checks the arguments with the rules
of ``bounds`` before trytond converts them and refuses with an ``InputError``
(a user error with a translated message). ``check_bounds`` is the
``validate_fields`` side: the business bounds of a field (non-negative,
upper bounds of durations, quantities, prices) and ordered dates.
"""
from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelStorage, fields
from trytond.pool import Pool
from trytond.rpc import RPC
from trytond.transaction import check_access

from . import bounds
from .exceptions import BoundError, InputError
from .input_error import short

X2MANY_ACTIONS = {'create', 'write', 'delete', 'add', 'remove', 'copy'}


def _model_label(Model):
    IrModel = Pool().get('ir.model')
    return IrModel.get_name(Model.__name__)


def _field_label(Model, name):
    IrModelField = Pool().get('ir.model.field')
    if name in getattr(Model, '_fields', {}):
        return IrModelField.get_name(Model.__name__, name)
    return str(name)


def _raise(code, Model, name=None, value=None, method=''):
    raise InputError(gettext('subscription_core.msg_input_%s' % code,
            model=_model_label(Model),
            field=_field_label(Model, name) if name is not None else '',
            value=short(value, quote=True), method=method.split(':')[-1],
            length=len(value) if isinstance(value, str) else ''))


def check_values(Model, values, method):
    "Raise InputError unless values can be written on Model"
    if not isinstance(values, dict):
        _raise('arguments', Model, method=method)
    stored = issubclass(Model, ModelStorage)
    for name, value in values.items():
        if not stored and name == 'id':
            # A form (a wizard's state) sends its record's id with its
            # fields; any other name (a related record's ``line.`` or
            # ``_parent_line.id``) would be set on the state's record, which
            # has no such attribute.
            continue
        field = Model._fields.get(name) if isinstance(name, str) else None
        if field is None or (stored
                and isinstance(field, fields.Function) and not field.setter):
            _raise('field', Model, name=str(name)[:40], method=method)
        kind = field._type
        if kind in {'one2many', 'many2many'}:
            check_actions(Model, name, field, value, method)
            continue
        size = field.size if isinstance(
            getattr(field, 'size', None), int) else None
        code = bounds.check_value(kind, value, size)
        if code:
            _raise(code, Model, name=name, value=value, method=method)


def check_actions(Model, name, field, value, method):
    "Raise InputError unless value is a list of One2Many/Many2Many actions"
    Target = field.get_target()
    if value is None:
        return
    if not isinstance(value, (list, tuple)):
        _raise('type', Model, name=name, value=value, method=method)
    for action in value:
        if (not isinstance(action, (list, tuple)) or not action
                or action[0] not in X2MANY_ACTIONS):
            _raise('type', Model, name=name, value=action, method=method)
        kind, args = action[0], action[1:]
        if kind == 'create':
            if len(args) != 1 or not isinstance(args[0], (list, tuple)):
                _raise('type', Model, name=name, value=action, method=method)
            for values in args[0]:
                check_values(Target, values, method)
        elif kind == 'write':
            if not args or len(args) % 2:
                _raise('type', Model, name=name, value=action, method=method)
            for ids, values in zip(args[::2], args[1::2]):
                if bounds.check_ids(ids):
                    _raise('ids', Model, method=method)
                check_values(Target, values, method)
        elif kind == 'copy':
            if not 1 <= len(args) <= 2 or bounds.check_ids(args[0]):
                _raise('ids', Model, method=method)
            if len(args) == 2:
                check_values(Target, args[1], method)
        else:
            if len(args) != 1 or bounds.check_ids(args[0]):
                _raise('ids', Model, method=method)


def check_context(Model, context, method):
    "The active record keys a wizard reads from the context"
    if not isinstance(context, dict):
        return  # trytond refuses it itself (HTTP 422)
    active_model = context.get('active_model')
    if not active_model and (
            context.get('active_id') is not None
            or context.get('active_ids')):
        # Records without their model: the wizard could not read them
        _raise('arguments', Model, method=method)
    if active_model is not None:
        try:
            Pool().get(active_model)
        except (KeyError, TypeError):
            _raise('arguments', Model, method=method)
    active_id = context.get('active_id')
    if active_id is not None and bounds.check_id(active_id):
        _raise('ids', Model, method=method)
    active_ids = context.get('active_ids')
    if active_ids is not None and bounds.check_ids(active_ids):
        _raise('ids', Model, method=method)


def check_model_access(Model, mode):
    "Raise the AccessError of the user's rights on Model for mode"
    ModelAccess = Pool().get('ir.model.access')
    with check_access():
        ModelAccess.check(Model.__name__, mode)


class InputRPC(RPC):
    "An RPC definition that checks the call's arguments first"
    __slots__ = ('input_method',)

    @classmethod
    def wrap(cls, rpc, method):
        if isinstance(rpc, cls):
            return rpc
        new = cls.__new__(cls)
        for name in RPC.__slots__:
            setattr(new, name, getattr(rpc, name))
        new.input_method = method
        return new

    def convert(self, obj, *args, **kwargs):
        if 'context' in kwargs:
            context = kwargs['context']
        else:
            args, context = args[:-1], (args[-1] if args else None)
        if kwargs.keys() - {'context'}:
            _raise('arguments', obj, method=self.input_method)
        check = getattr(obj, '_check_input_%s' % self.input_method.split(
                ':')[0])
        check(list(args), context, self.input_method)
        if 'context' not in kwargs:
            args = (*args, context)
        return super().convert(obj, *args, **kwargs)


class InputMixin:
    "Check the arguments of create, write and the buttons sent by RPC"
    __slots__ = ()

    @classmethod
    def __post_setup__(cls):
        super().__post_setup__()
        methods = ['create', 'write']
        if issubclass(cls, ModelSingleton):
            methods.append('delete')
        for method in methods:
            if method in cls.__rpc__:
                cls.__rpc__[method] = InputRPC.wrap(
                    cls.__rpc__[method], method)
        for button in getattr(cls, '_buttons', {}):
            if button in cls.__rpc__:
                cls.__rpc__[button] = InputRPC.wrap(
                    cls.__rpc__[button], 'button:' + button)

    @classmethod
    def _check_input_create(cls, args, context, method):
        if len(args) != 1 or not isinstance(args[0], (list, tuple)):
            _raise('arguments', cls, method=method)
        if issubclass(cls, ModelSingleton):
            # The rights first, as for another model: a singleton created
            # or deleted without records answers without checking them.
            check_model_access(cls, 'create')
            if len(args[0]) != 1:
                # A singleton is created once, from one dictionary
                _raise('arguments', cls, method=method)
        for values in args[0]:
            check_values(cls, values, method)

    @classmethod
    def _check_input_delete(cls, args, context, method):
        if len(args) != 1 or bounds.check_ids(args[0]):
            _raise('ids', cls, method=method)
        check_model_access(cls, 'delete')

    @classmethod
    def _check_input_write(cls, args, context, method):
        if not args or len(args) % 2:
            _raise('arguments', cls, method=method)
        for ids, values in zip(args[::2], args[1::2]):
            if bounds.check_ids(ids):
                _raise('ids', cls, method=method)
            check_values(cls, values, method)

    @classmethod
    def _check_input_button(cls, args, context, method):
        if len(args) != 1 or bounds.check_ids(args[0]):
            _raise('ids', cls, method=method)


class WizardInputMixin:
    "Check the arguments of a wizard's create, execute and delete by RPC"
    __slots__ = ()

    @classmethod
    def __post_setup__(cls):
        super().__post_setup__()
        for method in ['create', 'execute', 'delete']:
            cls.__rpc__[method] = InputRPC.wrap(cls.__rpc__[method], method)

    @classmethod
    def _check_input_create(cls, args, context, method):
        if args:
            _raise('arguments', cls, method=method)
        check_context(cls, context, method)

    @classmethod
    def _check_input_delete(cls, args, context, method):
        if len(args) != 1 or bounds.check_id(args[0]):
            _raise('arguments', cls, method=method)

    @classmethod
    def _check_input_execute(cls, args, context, method):
        pool = Pool()
        if (len(args) != 3 or bounds.check_id(args[0])
                or not isinstance(args[1], dict)
                or args[2] not in cls.states):
            _raise('arguments', cls, method=method)
        check_context(cls, context, method)
        for state_name, values in args[1].items():
            state = cls.states.get(state_name)
            model_name = getattr(state, 'model_name', None)
            if not model_name:
                _raise('arguments', cls, method=method)
            check_values(pool.get(model_name), values, method)


def check_bounds(records, field_names, limits):
    """Raise BoundError when a field of records is beyond its bound

    limits maps field names to ``bounds.Bound``; only the fields in
    field_names are checked (all when field_names is None).
    """
    names = [n for n in limits if field_names is None or n in field_names]
    for record in records:
        for name in names:
            value = getattr(record, name)
            code = bounds.check_bound(value, limits[name])
            if code:
                bound = limits[name]
                raise BoundError(gettext(
                        'subscription_core.msg_bound_%s' % code,
                        record=record.rec_name,
                        field=_field_label(record.__class__, name),
                        value=value, minimum=bound.minimum,
                        maximum=bound.maximum))


def check_dates(records, field_names, pairs):
    "Raise BoundError when a (start, end) pair of fields is not ordered"
    for start, end in pairs:
        if field_names is not None and not (field_names & {start, end}):
            continue
        for record in records:
            if not bounds.check_order(
                    getattr(record, start), getattr(record, end)):
                Model = record.__class__
                raise BoundError(gettext(
                        'subscription_core.msg_bound_dates',
                        record=record.rec_name,
                        start=_field_label(Model, start),
                        end=_field_label(Model, end)))
