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
# Nova's reclaim_instance_interval: a deleted server (one on a host) stays
# restorable for 14 days.
RECLAIM_SECONDS = 14 * 24 * 60 * 60
CLOUD = fake_openstack.FakeCloud(reclaim_seconds=RECLAIM_SECONDS)


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


def unshelve_project(project_id):
    """The customer unshelves the servers of its project itself (its
    project lets it): they are ACTIVE again"""
    compute = CLOUD.connection(project_id).compute
    for server in compute.servers():
        if server.status == 'SHELVED_OFFLOADED':
            compute.unshelve_server(server.id)
            while compute.get_server(server.id).status != 'ACTIVE':
                pass


def create_cloud():
    from proteus import Model
    Cloud = Model.get('cloud_billing.cloud')
    cloud = Cloud(name="Demo Cloud (in memory)")
    cloud.entry = 'demo-only'
    cloud.region = 'DemoRegion'
    cloud.reclaim_seconds = RECLAIM_SECONDS
    cloud.save()
    return cloud
