"""End-to-end test of cloud_billing's ERP models on the test cloud.

A database with cloud_billing (proteus, in process), a cloud record naming
the test cloud's ``admin`` clouds.yaml entry (the file given by the
``[cloud_billing] clouds_yaml`` option, as in production), a running
subscription for project customer-a: the Sync button (through ir.queue)
records the project's two servers as cloud resources, the resources'
shelve and unshelve reach Nova and are recorded, the quota the lines give is
applied and read back, and a server deleted in Nova is marked gone.
"""

import datetime

import pytest

pytestmark = pytest.mark.e2e

WAIT = 120
POLL = 0.5


def test_sync_act_and_quota_through_the_models(openstack_cloud, erp,
                                               boot):
    from proteus import Model
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    from cloud_billing import openstack
    from subscription_core.tests.tools import (
        create_customer, get_services)

    project_a = openstack_cloud.project_id("customer-a")
    web, db = boot("customer-a", "erp"), boot("customer-a", "erp")
    foreign = boot("customer-b", "erp")
    admin = openstack_cloud.connect("admin")

    services = get_services()
    for code, key, multiplier in [("vcpu", "cores", 1), ("ram", "ram", 1024),
                                  ("instance", "instances", 1)]:
        service = services[code]
        service.quota_key = key
        service.quota_multiplier = multiplier
        service.save()
    Cloud = Model.get("cloud_billing.cloud")
    cloud = Cloud(name="Test cloud", entry="admin",
                  region=openstack_cloud.region_name)
    cloud.save()

    Subscription = Model.get("sale.subscription")
    subscription = Subscription(party=create_customer("Customer A"))
    subscription.start_date = datetime.date(2025, 1, 1)
    subscription.cloud = cloud
    subscription.project_id = project_a
    for code, quantity in [("vcpu", 3), ("ram", 2), ("instance", 3)]:
        line = subscription.lines.new(service=services[code])
        line.quantity = quantity
    subscription.click("quote")
    subscription.click("run")

    # Sync: the button queues the task, which runs at commit.
    subscription.click("sync_resources")
    subscription.reload()
    assert subscription.cloud_sync_error is None
    recorded = {r.uuid: r for r in subscription.cloud_resources}
    assert set(recorded) == {web.id, db.id}
    assert foreign.id not in recorded
    for server in (web, db):
        resource = recorded[server.id]
        assert (resource.name, resource.project_id, resource.region,
                resource.flavor, resource.status, bool(resource.gone)) == (
            server.name, project_a, openstack_cloud.region_name,
            openstack_cloud.flavor["name"], "ACTIVE", False)
        assert resource.last_seen

    database = erp.database_name
    try:
        with Transaction().start(database, erp.user,
                                 context=erp.context) as transaction:
            pool = Pool()
            Resource = pool.get("cloud_billing.resource")
            SubscriptionModel = pool.get("sale.subscription")
            resources = Resource.search([("uuid", "=", web.id)])

            outcome, = Resource.remote_action(
                resources, "shelve", wait=WAIT, interval=POLL).values()
            assert (outcome.result, outcome.status) == (
                openstack.DONE, "SHELVED_OFFLOADED"), outcome
            resource, = Resource.browse(resources)
            assert resource.shelved_by_billing
            assert resource.status == "SHELVED_OFFLOADED"

            # Unshelve restores what billing shelved, nothing else.
            outcomes = Resource.remote_action(
                Resource.search([]), "unshelve", wait=WAIT, interval=POLL)
            assert [(r.uuid, o.result, o.status)
                    for r, o in outcomes.items()] == [
                (web.id, openstack.DONE, "ACTIVE")]
            resource, = Resource.browse(resources)
            assert not resource.shelved_by_billing

            # The quota the lines give: 3 cores, 2 GiB = 2048 MB, 3 servers
            sub = SubscriptionModel(subscription.id)
            outcome, = SubscriptionModel.apply_cloud_quota(
                [sub], datetime.date(2026, 1, 1)).values()
            # Run set it already (a quota_set action when the
            # subscription started): applying it again changes nothing.
            assert outcome.result in {
                openstack.DONE, openstack.ALREADY}, outcome
            assert outcome.requested == {
                "cores": 3, "ram": 2048, "instances": 3}
            transaction.commit()
        quota = admin.compute.get_quota_set(project_a)
        assert (quota.cores, quota.ram, quota.instances) == (3, 2048, 3)
        assert admin.compute.get_server(web.id).status == "ACTIVE"
    finally:
        admin.compute.revert_quota_set(project_a)

    # The customer deletes db for good (forced: the cloud would keep it
    # SOFT_DELETED, restorable): the next sync marks it gone, keeps it.
    db_conn = openstack_cloud.connect("customer-a")
    db_conn.compute.delete_server(db.id, force=True)
    db_conn.compute.wait_for_delete(db, interval=POLL, wait=WAIT)
    # (wait_for_delete also returns on status DELETED, which Nova still
    # lists for a moment: the sync counts that as gone too.)
    subscription.click("sync_resources")
    subscription.reload()
    gone = {r.uuid: bool(r.gone) for r in subscription.cloud_resources}
    assert gone == {web.id: False, db.id: True}
