# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""HTTP routes authenticated with a user application key.

``application_route(path, application, max_request_size)`` declares a route
(POST unless ``methods`` says otherwise, with the ``defaults`` of its
variables) of trytond's WSGI application as Tryton's own modules do
(``trytond.wsgi.app.route`` with ``user_application``): the caller sends
``Authorization: Bearer <key>`` of a key of the application; the function
then runs as the key's user, with the user's preferences (language,
company) in the context and the access rights checked. An ``AccessError``
answers 403. The function returns ``json_response(...)`` (or a streamed
``Response``). billing_usage (usage events, daily rows) and cloud_pricing
(the price of an instance) use it.
"""
import functools
from http import HTTPStatus

from trytond.model.exceptions import AccessError
from trytond.protocols.jsonrpc import JSONEncoder, json
from trytond.protocols.wrappers import (
    Response, abort, allow_null_origin, set_max_request_size,
    user_application, with_pool, with_transaction)
from trytond.transaction import Transaction
from trytond.wsgi import app

__all__ = ['json_response', 'application_route']


def json_response(data, status=HTTPStatus.OK):
    "A JSON answer (Decimal, dates as trytond's JSON-RPC encodes them)"
    return Response(json.dumps(data, cls=JSONEncoder), status=status,
        content_type='application/json')


def application_route(path, application, max_request_size, readonly=None,
        methods=('POST',), defaults=None):
    """Decorate func(request, pool, **variables) as the route at path for
    the keys of application; requests over max_request_size bytes are
    refused. The decorated function is func itself: it may be declared at
    several paths."""
    def decorator(func):
        @functools.wraps(func)
        def handler(request, pool, **variables):
            User = pool.get('res.user')
            with Transaction().set_context(
                    User.get_preferences(context_only=True)):
                try:
                    return func(request, pool, **variables)
                except AccessError:
                    abort(HTTPStatus.FORBIDDEN)
        route = user_application(application)(handler)
        route = with_transaction(readonly=readonly)(route)
        route = allow_null_origin(with_pool(route))
        route = set_max_request_size(max_request_size)(route)
        app.route(path, methods=list(methods), defaults=defaults)(route)
        return func
    return decorator
