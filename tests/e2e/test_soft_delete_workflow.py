"""End-to-end test of a reversible deletion on the test cloud.

The test cloud's Nova has a reclaim interval (``reclaim_instance_interval``
in its nova.conf, ``OSCLOUD_RECLAIM_SECONDS``), and the cloud record says
so. Customer D (project customer-a, one server) does not pay: shelved,
pending deletion; it unshelves its server itself (Nova deletes a
SHELVED_OFFLOADED server at once, a server on a host it soft-deletes);
deleted (the server SOFT_DELETED in Nova); it pays on the
last day its servers are restorable: the ``undelete`` action restores the
server (Nova ``restore``, ACTIVE again), the subscription is active and
running, the close planned after the deadline is cancelled, and the
restored email is received.
"""

import datetime
import uuid

import pytest

pytestmark = pytest.mark.e2e

WAIT = 180
POLL = 1
D = datetime.date


def test_payment_restores_soft_deleted(openstack_cloud, erp, mail):
    from proteus import Model

    from subscription_core.tests.tools import (
        create_customer, create_dunning_procedure, create_payment_method,
        create_payment_term, get_services, run_billing, travel)

    assert openstack_cloud.reclaim_seconds > 0
    admin = openstack_cloud.connect("admin")
    customer = openstack_cloud.connect("customer-a")
    project = openstack_cloud.project_id("customer-a")
    server = customer.compute.create_server(
        name=f"d1-{uuid.uuid4().hex[:6]}",
        flavor_id=openstack_cloud.flavor_id,
        image_id=openstack_cloud.image_id, networks="none")
    try:
        admin.compute.wait_for_server(
            server, status="ACTIVE", failures=["ERROR"], interval=POLL,
            wait=WAIT)

        def nova():
            return admin.compute.get_server(server.id).status

        Configuration = Model.get("cloud_billing.configuration")
        Configuration(remote_wait=WAIT).save()
        payment_term = create_payment_term(14)
        create_dunning_procedure([{"overdue": 1, "action": "grace"}])
        payment_method = create_payment_method()
        vcpu = get_services()["vcpu"]
        Cloud = Model.get("cloud_billing.cloud")
        cloud = Cloud(name="Soft-deleting cloud", entry="admin",
                      region=openstack_cloud.region_name,
                      reclaim_seconds=openstack_cloud.reclaim_seconds)
        cloud.save()
        assert not cloud.deletion_final

        party = create_customer("Customer D", email="d@example.com")
        party.customer_payment_term = payment_term
        party.save()
        Subscription = Model.get("sale.subscription")
        subscription = Subscription(party=party)
        subscription.start_date = D(2026, 1, 1)
        subscription.cloud = cloud
        subscription.project_id = project
        line = subscription.lines.new(service=vcpu)
        line.quantity = 2
        subscription.click("quote")
        subscription.click("run")
        subscription.click("sync_resources")
        subscription.reload()
        assert [r.uuid for r in subscription.cloud_resources] == [server.id]

        def received():
            return sorted((to[0], m["Subject"]) for _, to, m in mail.pop())

        run_billing(D(2026, 2, 1))      # January's invoice, due 15 Feb
        run_billing(D(2026, 2, 16))     # grace
        run_billing(D(2026, 2, 18))     # shelved
        assert nova() == "SHELVED_OFFLOADED"
        run_billing(D(2026, 2, 25))     # pending deletion
        # The customer unshelves its server (its project lets it).
        customer.compute.unshelve_server(server.id)
        admin.compute.wait_for_server(
            admin.compute.get_server(server.id), status="ACTIVE",
            failures=["ERROR"], interval=POLL, wait=WAIT)
        run_billing(D(2026, 3, 4))      # deleted: soft-deleted in Nova
        subscription.reload()
        assert subscription.billing_status == "deleted"
        assert subscription.state == "running"
        deadline = subscription.cloud_restore_deadline
        assert deadline == D(2026, 3, 4) + datetime.timedelta(
            days=openstack_cloud.reclaim_seconds // 86400)
        assert nova() == "SOFT_DELETED"
        resource, = subscription.cloud_resources
        assert (resource.status, resource.gone) == ("SOFT_DELETED", False)
        Dashboard = Model.get("cloud_billing.dashboard")
        row, = Dashboard.find([("subscription", "=", subscription.id)])
        assert row.restore_deadline == deadline
        subjects = [s for _, s in received()]
        assert any("deleted" in s for s in subjects), subjects

        # Paid on the last restorable day: the server comes back.
        Invoice = Model.get("account.invoice")
        for invoice in Invoice.find([("party", "=", party.id),
                                     ("state", "=", "posted")]):
            with travel(deadline):
                wizard = invoice.click("pay")
                wizard.form.payment_method = payment_method
                wizard.form.date = deadline
                wizard.execute("choice")

        subscription.reload()
        assert subscription.billing_status == "active"
        assert subscription.state == "running"
        assert subscription.cloud_restore_deadline is None
        admin.compute.wait_for_server(
            admin.compute.get_server(server.id), status="ACTIVE",
            failures=["ERROR"], interval=POLL, wait=WAIT)
        Action = Model.get("sale.subscription.billing.action")
        undelete, = Action.find([("subscription", "=", subscription.id),
                                 ("type", "=", "undelete")])
        assert undelete.state == "done", (
            undelete.last_error, undelete.remote_outcomes)
        close, = Action.find([("subscription", "=", subscription.id),
                              ("type", "=", "close")])
        assert close.state == "cancelled"
        assert received() == [(
            "d@example.com",
            f"Your servers are running again: {subscription.rec_name}")]

        # The day after the deadline nothing closes it.
        run_billing(deadline + datetime.timedelta(days=1))
        subscription.reload()
        assert (subscription.state, subscription.billing_status) == (
            "running", "active")
        assert nova() == "ACTIVE"
    finally:
        openstack_cloud.purge(admin, [server.id], WAIT, POLL)
