# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The user application keys of the modules' HTTP routes, in one place.

A module with routes names its application (``billing_usage``,
``cloud_pricing``) and registers ``user_application_class(name, label)``
as its ``res.user.application`` extension: users then issue keys for it
(*User › Applications*), and its routes are decorated with Tryton's
``user_application(name)``, which runs them as the key's user with access
checks. ``require_groups`` is the route's own check of the caller's groups
(style: routes check who calls them), ``json_response`` its JSON answer.
"""
from http import HTTPStatus

from trytond.pool import Pool, PoolMeta
from trytond.protocols.jsonrpc import JSONEncoder, json
from trytond.protocols.wrappers import Response, abort

from .validation import InputMixin

__all__ = ['user_application_class', 'json_response', 'require_groups']


def user_application_class(name, label):
    """The res.user.application extension that adds the application name
    (the arguments of create, write and the buttons sent by RPC checked)"""

    class UserApplication(InputMixin, metaclass=PoolMeta):
        __name__ = 'res.user.application'

        @classmethod
        def __setup__(cls):
            super().__setup__()
            if (name, label) not in cls.application.selection:
                cls.application.selection.append((name, label))
    UserApplication.__doc__ = f"Keys of the {name} application"
    return UserApplication


def json_response(data, status=HTTPStatus.OK):
    "A JSON answer (Decimal and dates as Tryton's JSON-RPC encodes them)"
    return Response(json.dumps(data, cls=JSONEncoder), status=status,
        content_type='application/json')


def require_groups(*xml_ids):
    """Abort with 403 Forbidden unless the transaction's user is in one of
    the groups (``module.xml_id``)"""
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    groups = set(User.get_groups())
    wanted = {ModelData.get_id(*x.split('.', 1)) for x in xml_ids}
    if not groups & wanted:
        abort(HTTPStatus.FORBIDDEN)
