# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Test helpers of the pricing catalog: the provider's catalog served over
HTTP on loopback.

``CatalogServer`` runs Python's ``http.server`` in a thread on 127.0.0.1 on
a free port and answers GET with the documents it was given per path
(``server.documents['/catalog.json'] = data``; 404 otherwise). ``start()``
also points ``[cloud_pricing] catalog_url`` at ``/catalog.json``;
``stop()`` (or the context manager's exit) stops the server, joins its
thread and restores the configuration.
"""
import http.server
from decimal import Decimal
import pathlib
import threading

from trytond import config as tconfig

__all__ = ['CatalogServer', 'CATALOG', 'catalog_text',
    'create_pricing_services', 'NEXTCLOUD_PRODUCTS', 'create_billing_entity',
    'create_origin', 'create_user', 'issue_pricing_key', 'get_checklist',
    'post_price']

#: Every product ID the calculation can emit for nextcloud in catalog.json
NEXTCLOUD_PRODUCTS = [
    'exo-compute-standard-8', 'exo-compute-standard-2', 'exo-storage-ssd',
    'exo-ipv4',
    'servala-nextcloud-besteffort-managed',
    'servala-nextcloud-besteffort-managed-b1',
    'servala-nextcloud-besteffort-managed-b2',
    'servala-nextcloud-guaranteed-managed',
    'servala-nextcloud-guaranteed-managed-b1',
    'servala-nextcloud-guaranteed-managed-b2',
    ]

CATALOG = pathlib.Path(__file__).with_name('catalog.json')


def catalog_text():
    "The test catalog (tests/catalog.json)"
    return CATALOG.read_text()


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_GET(self):
        data = self.server.documents.get(self.path)
        if data is None:
            self.send_error(404)
            return
        if isinstance(data, str):
            data = data.encode('utf-8')
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


class CatalogServer:
    "An HTTP server on loopback serving catalog documents"

    def __init__(self, documents=None):
        self.documents = dict(documents or {})
        self._server = None
        self._thread = None
        self._previous = {}

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def start(self):
        self._server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), _Handler)
        self._server.documents = self.documents
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._set('catalog_url', self.url + '/catalog.json')
        self._set('timeout', '5')
        return self

    def _set(self, option, value):
        if option not in self._previous:
            self._previous[option] = tconfig.get('cloud_pricing', option)
        if not tconfig.has_section('cloud_pricing'):
            tconfig.add_section('cloud_pricing')
        tconfig.set('cloud_pricing', option, value)

    def set_option(self, option, value):
        "Set an option of [cloud_pricing] until stop()"
        self._set(option, value)

    def stop(self):
        for option, value in self._previous.items():
            if value is None:
                # trytond.config has no remove_option of its own
                tconfig._config.remove_option('cloud_pricing', option)
                tconfig._cache_clear()
            else:
                tconfig.set('cloud_pricing', option, value)
        self._previous.clear()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def create_pricing_services(product_ids, config=None):
    """A subscription service (billed as a limit) per product ID, in the
    category of the billing set-up's services; return them per ID"""
    from proteus import Model
    ProductCategory = Model.get('product.category', config=config)
    ProductTemplate = Model.get('product.template', config=config)
    Service = Model.get('sale.subscription.service', config=config)
    Uom = Model.get('product.uom', config=config)
    category, = ProductCategory.find([('name', '=', "Cloud Services")])
    unit, = Uom.find([('name', '=', "Unit")])
    services = {}
    for product_id in product_ids:
        template = ProductTemplate(name=product_id)
        template.default_uom = unit
        template.type = 'service'
        template.list_price = Decimal(0)
        template.account_category = category
        template.save()
        product, = template.products
        product.suffix_code = product_id
        product.save()
        service = Service(product=product)
        service.save()
        services[product_id] = service
    return services


def create_billing_entity(name, invoice=True, config=None):
    """A billing entity: a party with an address ticked Invoice (unless
    invoice is False)"""
    from proteus import Model
    Party = Model.get('party.party', config=config)
    party = Party(name=name)
    address, = party.addresses
    address.street = "1 Ledger Lane"
    address.invoice = invoice
    party.save()
    return party


def create_origin(name, billing_entity=None, grouping='organization',
        message=None, sale=None, config=None):
    "An organization origin with its billing defaults"
    from proteus import Model
    Origin = Model.get('cloud_pricing.organization.origin', config=config)
    origin = Origin(name=name)
    origin.default_billing_entity = billing_entity
    origin.default_sale = sale
    origin.invoice_grouping = grouping
    origin.billing_message = message
    origin.save()
    return origin


def create_user(login, name, groups, config=None):
    """A user of the company in the groups (names), e.g. a Sales user;
    the billing set-up's password"""
    from proteus import Model
    from trytond.modules.company.tests.tools import get_company
    from subscription_core.tests.tools import USER_PASSWORD
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Company = Model.get('company.company', config=config)
    company = get_company(config=config)
    user = User(name=name, login=login, password=USER_PASSWORD)
    user.companies.append(Company(company.id))
    user.company = company
    for group_name in groups:
        group, = Group.find([('name', '=', group_name)])
        user.groups.append(group)
    user.save()
    return user


def issue_pricing_key(user, config=None):
    "A validated user application key of cloud_pricing for user"
    from subscription_core.tests.tools import issue_application_key
    return issue_application_key(user, 'cloud_pricing', config=config)


def get_checklist(service, key, config=None):
    """GET the checklist route of service (in this process); return
    (status, JSON answer)"""
    from subscription_core.tests.tools import call_route
    return call_route('GET', f'/cloud_pricing/checklist/{service}', key,
        config=config)


def post_price(body, key, config=None):
    """POST body (a dict) to the price route (in this process); return
    (status, JSON answer)"""
    import json
    from subscription_core.tests.tools import call_route
    return call_route('POST', '/cloud_pricing/price', key, config=config,
        data=json.dumps(body), content_type='application/json')
