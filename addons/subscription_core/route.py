# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""HTTP routes authenticated with a user application key, in one place.

A module with routes names its application (``billing_usage``,
``cloud_pricing``) and registers ``user_application_class(name, label)``
as its ``res.user.application`` extension: users then issue keys for it
(*User › Applications*).

``application_route(path, application, ...)`` declares a route (POST
unless ``methods`` says otherwise, with the ``defaults`` of its variables)
of trytond's WSGI application as Tryton's own modules do
(``trytond.wsgi.app.route`` with ``user_application``): the caller sends
``Authorization: Bearer <key>`` of a key of the application; the function
then runs as the key's user, with the user's preferences (language,
company) in the context and the access rights checked. An ``AccessError``
answers 403. ``require_groups`` is a route's own check of the caller's
groups (style: routes check who calls them). The function returns
``json_response(...)`` (or a streamed ``Response``). billing_usage (usage
events, daily rows) and cloud_pricing (the price of an instance, the
checklist of a service) use it.
"""
import functools
from http import HTTPStatus

from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.protocols.jsonrpc import JSONEncoder, json
from trytond.protocols.wrappers import (
    Response, abort, allow_null_origin, set_max_request_size,
    user_application, with_pool, with_transaction)
from trytond.transaction import Transaction
from trytond.wsgi import app

from .validation import InputMixin

__all__ = ['user_application_class', 'json_response', 'require_groups',
    'application_route']


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
    "A JSON answer (Decimal, dates as trytond's JSON-RPC encodes them)"
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


def application_route(path, application, max_request_size=None,
        readonly=None, methods=('POST',), defaults=None):
    """Decorate func(request, pool, **variables) as the route at path for
    the keys of application; requests over max_request_size bytes are
    refused (trytond's [request] max_size_authenticated when None). The
    decorated function is func itself: it may be declared at several
    paths."""
    def decorator(func):
        @functools.wraps(func)
        def handler(request, pool, *args, **kwargs):
            User = pool.get('res.user')
            with Transaction().set_context(
                    User.get_preferences(context_only=True)):
                try:
                    return func(request, pool, *args, **kwargs)
                except AccessError:
                    abort(HTTPStatus.FORBIDDEN)
        route = user_application(application)(handler)
        route = with_transaction(readonly=readonly)(route)
        route = allow_null_origin(with_pool(route))
        if max_request_size is not None:
            route = set_max_request_size(max_request_size)(route)
        app.route(path, methods=list(methods), defaults=defaults)(route)
        return func
    return decorator
