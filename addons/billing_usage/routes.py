# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The HTTP route of the usage events.

``POST /<database>/billing_usage/events``, authenticated with a user
application key of the application ``billing_usage`` (``Authorization:
Bearer <key>``), as Tryton's own modules authenticate their routes. The
events are ingested as the key's user, with the user's company and access
rights (``subscription_core.route``): the user needs the right to create
usage events (group *Billing Usage Producer* or *Billing Finance*).
"""
from http import HTTPStatus

from trytond.i18n import gettext

from subscription_core.route import application_route, json_response

from . import payload
from .user import APPLICATION

# 10,000 events of a few hundred bytes each
MAX_REQUEST_SIZE = 16 * 1024 * 1024


@application_route('/<database_name>/billing_usage/events', APPLICATION,
    MAX_REQUEST_SIZE)
def events(request, pool):
    """Ingest the events of the body; answer {"results": [...]}, one per
    event at its index (see billing_usage.event.ingest)"""
    Event = pool.get('billing_usage.event')
    try:
        items = payload.parse_body(request.mimetype, request.get_data())
    except payload.BodyError as error:
        return json_response({'error': gettext(
                    'billing_usage.msg_event_%s' % error.code,
                    **error.params)},
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            if error.code == 'body_too_many'
            else HTTPStatus.BAD_REQUEST)
    return json_response({'results': Event.ingest(items)})
