# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The HTTP routes of the module, with a user application key of the
application ``cloud_pricing`` (``Authorization: Bearer <key>``,
``subscription_core.route``).

``POST /<database>/cloud_pricing/price``, the price of an instance before
ordering: the key's user must be one who may run *Price an Instance*
(Billing Finance, Sales): others get 403. The body and the answer are those
of ``price_request`` (doc/route.rst); a body that cannot be read is
answered 400 (413 when too large, 415 when not JSON), a request the catalog
cannot price 422, each with {"error": <translated message>}. A request
that names an organization (its party code) also gets the resource
annotations with the organization's sale order reference; the
organization is searched with the key user's access rights (403 when the
user may not read it), an unknown one is answered 422.

``GET /<database>/cloud_pricing/checklist/<service>``, the configuration
checklist of a service (doc/checklist.rst): Billing Finance only (403).
"""
from http import HTTPStatus

from trytond.i18n import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from subscription_core.route import (
    application_route, json_response, require_groups)

from . import price_request, pricing, readiness
from .catalog import get_option
from .exceptions import PricingError
from .price import instance_price
from .user import APPLICATION

FINANCE = 'subscription_core.group_billing_finance'

_STATUS = {
    'body_size': HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    'body_type': HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    }


def _error(status, message):
    return json_response({'error': message}, status)


@application_route('/<database_name>/cloud_pricing/price', APPLICATION,
    price_request.MAX_BODY, readonly=True)
def price(request, pool):
    "Answer the line items, the monthly total and the currency of a spec"
    Price = pool.get('cloud_pricing.price', type='wizard')
    Plan = pool.get('cloud_pricing.compute_plan')
    Tier = pool.get('cloud_pricing.sla_tier')
    Price.check_access()
    try:
        try:
            data = request.get_data()
        except RequestEntityTooLarge:
            raise price_request.RequestError('body_size',
                size=request.content_length or '?',
                maximum=price_request.MAX_BODY)
        values = price_request.read_request(request.mimetype, data)
    except price_request.RequestError as error:
        return _error(_STATUS.get(error.code, HTTPStatus.BAD_REQUEST),
            gettext('cloud_pricing.msg_price_%s' % error.code,
                **error.params))
    plans = Plan.search([
            ('service', '=', values['service']),
            ('provider', '=', values['provider']),
            ('plan', '=', values['plan']),
            ])
    tiers = Tier.search([('code', '=', values['sla'])])
    organization = None
    if values['organization'] is not None:
        organization = _organization(pool, values['organization'])
        if organization is None:
            return _error(HTTPStatus.UNPROCESSABLE_ENTITY, gettext(
                    'cloud_pricing.msg_price_unknown_organization',
                    organization=values['organization']))
    if not plans or not tiers:
        return _error(HTTPStatus.UNPROCESSABLE_ENTITY, gettext(
                'cloud_pricing.msg_price_unknown',
                **{k: values[k] for k in price_request.NAMES}))
    try:
        lines, currency, stale = instance_price(
            plans[0], tiers[0], values['spec'], values['instance'])
    except PricingError as error:
        return _error(HTTPStatus.UNPROCESSABLE_ENTITY, error.message)
    annotations = None
    if organization is not None:
        annotations = pricing.annotations(lines,
            organization.billing_reference,
            domain=get_option('annotation_domain',
                default=pricing.ANNOTATION_DOMAIN))
    return json_response(price_request.price_answer(
            values, lines, currency.code, stale, annotations))


def _organization(pool, code):
    """The organization of code with its sale order, searched and read with
    the caller's access rights (an AccessError answers 403); None when there
    is none"""
    Party = pool.get('party.party')
    parties = Party.search([
            ('code', '=', code),
            ('organization_origin', '!=', None),
            ('billing_sale', '!=', None),
            ], limit=1)
    if not parties:
        return None
    organization, = parties
    # Read the sale order as the caller: its reference is what is answered
    Sale = pool.get('sale.sale')
    Sale.read([organization.billing_sale.id], ['number'])
    return organization


@application_route('/<database_name>/cloud_pricing/checklist/<service>',
    APPLICATION, readonly=True, methods=['GET'])
def checklist(request, pool, service):
    """The checklist of service as JSON: {service, ready, points: [{code,
    ok, blocking, label, text}]}; 404 for a service the catalog does not
    name; finance only (403)"""
    Checklist = pool.get('cloud_pricing.checklist')
    require_groups(FINANCE)
    if service not in Checklist.services():
        return _error(HTTPStatus.NOT_FOUND, gettext(
                'cloud_pricing.msg_checklist_unknown_service',
                service=service))
    points = Checklist.check(service)
    return json_response({
            'service': service,
            'ready': readiness.is_ready(points),
            'points': Checklist.describe(service, points),
            })
