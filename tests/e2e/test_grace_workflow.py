"""End-to-end test of the grace workflow on the test cloud.

A real trytond database with cloud_billing (proteus, in process), the
billing jobs run by the *Run Billing Job* wizard for chosen dates, the
queued remote actions run as trytond runs them without a worker (right
after the job's commit), the emails handed to a real aiosmtpd server on
127.0.0.1, and Nova of the test cloud:

* customer A (project customer-a, two servers) never pays: shelved (servers
  SHELVED_OFFLOADED in Nova), pending deletion, deleted (servers gone: Nova
  deletes an offloaded server at once, even with the test cloud's reclaim
  interval, so the deletion is final), subscription closed, with the
  reminder, shelved, pre-deletion and deleted emails received;
* customer B (project customer-b, one server) pays while shelved: the
  server is ACTIVE again and the restored email is received;
* customer C (a project created for the test, one server booted by the
  admin) pays on time: its server is never touched; its vCPU limit is
  raised by a quota change that reaches Nova and is billed pro rata.
"""

import datetime
import uuid
from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e

WAIT = 180
POLL = 1
D = datetime.date


@pytest.fixture
def cloud_setup(openstack_cloud):
    """Boot servers; delete them and restore quotas at the end"""
    admin = openstack_cloud.connect("admin")
    created = []

    def boot(conn, name):
        server = conn.compute.create_server(
            name=f"{name}-{uuid.uuid4().hex[:6]}",
            flavor_id=openstack_cloud.flavor_id,
            image_id=openstack_cloud.image_id, networks="none")
        created.append(server.id)
        return server

    yield admin, boot
    # Customer C bills the cloud's admin project (the test cloud has two
    # customer projects; a project created during the test is not seen by
    # every Keystone worker at once): its quota is put back afterwards.
    try:
        admin.compute.revert_quota_set(openstack_cloud.admin_project_id)
    except Exception:
        pass
    openstack_cloud.purge(admin, created, WAIT, POLL)


def wait_status(admin, server_ids, status):
    for server_id in server_ids:
        admin.compute.wait_for_server(
            admin.compute.get_server(server_id), status=status,
            failures=["ERROR"], interval=POLL, wait=WAIT)


def test_grace_workflow(openstack_cloud, erp, mail, cloud_setup):
    from proteus import Model
    from trytond.tests.tools import set_user

    from subscription_core.tests.tools import (
        create_customer, create_dunning_procedure, create_payment_method,
        create_payment_term, get_services,
        run_billing, travel)

    admin_os, boot = cloud_setup
    project_a = openstack_cloud.project_id("customer-a")
    project_b = openstack_cloud.project_id("customer-b")
    project_c, conn_c = openstack_cloud.admin_project_id, admin_os
    a1 = boot(openstack_cloud.connect("customer-a"), "a1")
    a2 = boot(openstack_cloud.connect("customer-a"), "a2")
    b1 = boot(openstack_cloud.connect("customer-b"), "b1")
    c1 = boot(conn_c, "c1")
    wait_status(admin_os, [a1.id, a2.id, b1.id, c1.id], "ACTIVE")

    User = Model.get("res.user")
    manager, = User.find([("login", "=", "finance_manager")])
    Configuration = Model.get("cloud_billing.configuration")
    configuration = Configuration(remote_wait=WAIT)
    configuration.save()
    payment_term = create_payment_term(14)
    create_dunning_procedure([{"overdue": 1, "action": "grace"}])
    payment_method = create_payment_method()
    vcpu = get_services()["vcpu"]
    vcpu.quota_key = "cores"
    vcpu.save()
    Cloud = Model.get("cloud_billing.cloud")
    cloud = Cloud(name="Test cloud", entry="admin",
                  region=openstack_cloud.region_name,
                  reclaim_seconds=openstack_cloud.reclaim_seconds)
    cloud.save()

    Subscription = Model.get("sale.subscription")
    customers = {}
    for name, project in [("A", project_a), ("B", project_b),
                          ("C", project_c)]:
        party = create_customer(
            f"Customer {name}", email=f"{name.lower()}@example.com")
        party.customer_payment_term = payment_term
        party.save()
        subscription = Subscription(party=party)
        subscription.start_date = D(2026, 1, 1)
        subscription.cloud = cloud
        subscription.project_id = project
        line = subscription.lines.new(service=vcpu)
        line.quantity = 4
        subscription.click("quote")
        subscription.click("run")
        subscription.click("sync_resources")
        subscription.reload()
        assert subscription.cloud_sync_error is None
        customers[name] = subscription
    assert {r.uuid for r in customers["A"].cloud_resources} == {
        a1.id, a2.id}


    Invoice = Model.get("account.invoice")

    def pay(name, date):
        for invoice in Invoice.find([
                ("party", "=", customers[name].party.id),
                ("state", "=", "posted")]):
            with travel(date):
                wizard = invoice.click("pay")
                wizard.form.payment_method = payment_method
                wizard.form.date = date
                wizard.execute("choice")

    def statuses():
        for subscription in customers.values():
            subscription.reload()
        return {n: s.billing_status for n, s in customers.items()}

    def received():
        return sorted((to[0], m["Subject"]) for _, to, m in mail.pop())

    def nova(server):
        return admin_os.compute.get_server(server.id).status

    run_billing(D(2026, 2, 1))          # January's invoices, due 15 Feb
    pay("C", D(2026, 2, 10))
    run_billing(D(2026, 2, 16))         # the reminder, grace
    assert statuses() == {"A": "grace", "B": "grace", "C": "active"}
    assert [to for to, _ in received()] == [
        "a@example.com", "b@example.com"]

    run_billing(D(2026, 2, 18))         # shelve (queued, waits for Nova)
    assert statuses() == {"A": "shelved", "B": "shelved", "C": "active"}
    assert {nova(s) for s in [a1, a2, b1]} == {"SHELVED_OFFLOADED"}
    assert nova(c1) == "ACTIVE"
    assert len(received()) == 2

    pay("B", D(2026, 2, 19))            # paid while shelved: unshelved
    assert statuses()["B"] == "active"
    wait_status(admin_os, [b1.id], "ACTIVE")
    restored = received()
    assert [to for to, _ in restored] == ["b@example.com"]

    # Finance manager raises C's vCPU limit from 4 to 6 on 20 February.
    set_user(manager)
    Action = Model.get("sale.subscription.billing.action")
    line, = customers["C"].lines
    action = Action(subscription=customers["C"], type="quota_change",
                    planned_date=D(2026, 2, 20))
    action.quota_line = line
    action.quota_quantity = 6
    action.save()
    set_user(User.find([("login", "=", "admin")])[0])
    run_billing(D(2026, 2, 20))
    action.reload()
    assert action.state == "done", (action.last_error, action.remote_outcomes)
    assert admin_os.compute.get_quota_set(project_c).cores == 6

    run_billing(D(2026, 2, 25))         # pending deletion, warning
    assert statuses() == {"A": "pending_deletion", "B": "active",
                          "C": "active"}
    assert [to for to, _ in received()] == ["a@example.com"]

    run_billing(D(2026, 3, 1))          # February invoiced: C pro rata
    march, = Invoice.find([("party", "=", customers["C"].party.id),
                           ("invoice_date", "=", D(2026, 3, 1))])
    # One line per piece of February, each for its share of the month
    # (the engine bills quantity 1 × the piece's amount).
    pieces = sorted(
        (l.billing_start, l.billing_end, l.description.split(" × ")[0],
            l.amount) for l in march.lines)
    assert pieces == [
        (D(2026, 2, 1), D(2026, 2, 20), "4 vCPU", Decimal("27.14")),
        (D(2026, 2, 20), D(2026, 3, 1), "6 vCPU", Decimal("19.29")),
        ], pieces

    run_billing(D(2026, 3, 4))          # deletion
    assert statuses() == {"A": "deleted", "B": "active", "C": "active"}
    customers["A"].reload()
    assert customers["A"].state == "closed"
    # Offloaded servers are not soft-deleted: nothing is restorable.
    assert customers["A"].cloud_restore_deadline is None
    # The delete action waited until Nova no longer knew them.
    for server in (a1, a2):
        assert admin_os.compute.find_server(
            server.id, all_projects=True) is None
    assert [to for to, _ in received()] == ["a@example.com"]
    assert nova(b1) == "ACTIVE" and nova(c1) == "ACTIVE"
