"""DEMO ONLY: an in-memory OpenStack for `make demo` and the browser test.

Never use this for a real cloud. The demo has no OpenStack: its cloud
("Demo Cloud (in memory)") is reached through the connection-factory
mechanism of cloud_billing (``openstack.register_connection_factory``),
registered here under the name ``demo`` and selected by the context key
``cloud_billing_connection``. The cloud itself is the test double of
``cloud_billing/tests/fake_openstack.py`` (a tiny Nova in memory): it
lives in the process that builds the demo data, so the servers it lists
are recorded as cloud resources and the billing actions act on them there.
The demo server process does not register it: a Sync clicked in the web
client reaches openstacksdk and records a connection error on the
subscription.
"""
from cloud_billing import openstack
from cloud_billing.tests import fake_openstack

NAME = 'demo'
CONTEXT = {'cloud_billing_connection': NAME}
CLOUD = fake_openstack.FakeCloud()


def connect(cloud, region=None, **options):
    "Connection factory: an admin connection to the in-memory demo cloud"
    return CLOUD.connection()


def register():
    openstack.register_connection_factory(NAME, connect)


def project_id(customer):
    "The demo project id of a customer"
    return 'demo-' + ''.join(
        c for c in customer.lower().replace(' ', '-')
        if c.isalnum() or c == '-')


def create_cloud():
    from proteus import Model
    Cloud = Model.get('cloud_billing.cloud')
    cloud = Cloud(name="Demo Cloud (in memory)")
    cloud.entry = 'demo-only'
    cloud.region = 'DemoRegion'
    cloud.save()
    return cloud
