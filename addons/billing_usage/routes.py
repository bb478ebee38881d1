# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The HTTP route of the usage events.

``POST /<database>/billing_usage/events``, authenticated with a user
application key of the application ``billing_usage`` (``Authorization:
Bearer <key>``), as Tryton's own modules authenticate their routes. The
events are ingested as the key's user, with the user's company and access
rights: the user needs the right to create usage events (group *Billing
Usage Producer* or *Billing Finance*).
"""
from http import HTTPStatus

from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.protocols.wrappers import (
    abort, allow_null_origin, set_max_request_size, user_application,
    with_pool, with_transaction)
from trytond.transaction import Transaction
from trytond.wsgi import app

from subscription_core.application import json_response

from . import payload
from .user import APPLICATION

# 10,000 events of a few hundred bytes each
MAX_REQUEST_SIZE = 16 * 1024 * 1024

usage_application = user_application(APPLICATION)


@app.route('/<database_name>/billing_usage/events', methods=['POST'])
@set_max_request_size(MAX_REQUEST_SIZE)
@allow_null_origin
@with_pool
@with_transaction()
@usage_application
def events(request, pool):
    """Ingest the events of the body; answer {"results": [...]}, one per
    event at its index (see billing_usage.event.ingest)"""
    User = pool.get('res.user')
    Event = pool.get('billing_usage.event')
    transaction = Transaction()
    with transaction.set_context(User.get_preferences(context_only=True)):
        try:
            items = payload.parse_body(request.mimetype, request.get_data())
        except payload.BodyError as error:
            return json_response({'error': gettext(
                        'billing_usage.msg_event_%s' % error.code,
                        **error.params)},
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE
                if error.code == 'body_too_many'
                else HTTPStatus.BAD_REQUEST)
        try:
            results = Event.ingest(items)
        except AccessError:
            abort(HTTPStatus.FORBIDDEN)
    return json_response({'results': results})
