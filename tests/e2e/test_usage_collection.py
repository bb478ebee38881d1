"""End-to-end test of usage collection on the test cloud (Nova's usage API).

Three servers of project customer-a: one runs, one is shelved, one is
deleted (for good: the test cloud would keep it SOFT_DELETED, and Nova
counts a soft-deleted server until it is reclaimed); a server of customer-b
is not customer-a's usage. Clock travel: their launch (and the deletion)
are moved back in Nova's database (``instances.launched_at`` and
``terminated_at``, the columns ``os-simple-tenant-usage`` computes from), so
that they ran across a midnight: the servers were booted 25.5 hours before
the last whole hour H, the deleted one ended 1 h 45 min before H.

The collector reads the window [H - 26 h, H) through the models (as its
queued task does), splits it at midnight (and each hour), and its events go
through billing_usage's ingest: per server and day the hours equal what
Nova itself answers for that day's piece. Collecting the window again (and
the Collect Usage button) adds nothing before H; the rows and the on-demand invoice
lines bill each hour once, and a second billing run bills nothing more.
The cloud has no Cinder and no network API in its catalog: volumes and
floating IPs are skipped and noted, not an error.

The servers run in a project of their own, created for the test: Nova
counts every server of a project that ran in the window, so the servers of
other tests (or of this test on the other database, the run before) would
be billed too in the shared customer-a project.
"""

import datetime
import json
import subprocess
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e

WAIT = 120
POLL = 0.5
HOUR = datetime.timedelta(hours=1)


def travel_nova(openstack_cloud, server_id, launched_at, terminated_at=None):
    """Move a server's launch (and end) in Nova's cell database"""
    port = openstack_cloud.info["ports"]["mariadb"]
    sets = [f"launched_at = '{launched_at:%Y-%m-%d %H:%M:%S}'"]
    if terminated_at:
        sets.append(f"terminated_at = '{terminated_at:%Y-%m-%d %H:%M:%S}'")
    sql = (f"UPDATE instances SET {', '.join(sets)} "
           f"WHERE uuid = '{server_id}'")
    subprocess.run(
        ["mariadb", "--protocol=TCP", "-h", "127.0.0.1", "-P", str(port),
         "-u", "root", "nova_cell1", "-e", sql],
        check=True, capture_output=True, timeout=30)


def nova_hours(admin, project_id, start, end):
    "{server id: hours} as Nova answers for [start, end)"
    usage = admin.compute.get_usage(project_id, start=start, end=end)
    return {u.instance_id: Decimal(str(u.hours))
            for u in usage.server_usages or [] if u.hours}


@pytest.fixture
def usage_project(openstack_cloud):
    """A project of its own for the test (customer-a's user a member):
    (project id, boot(name) → ACTIVE server); its servers are purged and
    the project deleted at the end"""
    import openstack

    admin = openstack_cloud.connect("admin")
    customer = openstack_cloud.info["projects"]["customer-a"]
    project = admin.identity.create_project(
        name=f"usage-{uuid.uuid4().hex[:8]}", domain_id="default",
        description="e2e usage collection")
    member, = admin.identity.roles(name="member")
    admin.identity.assign_project_role_to_user(
        project, customer["user_id"], member)
    conn = openstack.connect(
        auth_url=openstack_cloud.auth_url,
        username=customer["username"], password=customer["password"],
        project_id=project.id, user_domain_id="default",
        project_domain_id="default",
        region_name=openstack_cloud.region_name, load_envvars=False,
        load_yaml_config=False)
    created = []

    def boot(name):
        server = conn.compute.create_server(
            name=f"{name}-{uuid.uuid4().hex[:6]}",
            flavor_id=openstack_cloud.flavor_id,
            image_id=openstack_cloud.image_id, networks="none")
        created.append(server.id)
        return conn.compute.wait_for_server(
            server, status="ACTIVE", failures=["ERROR"], interval=POLL,
            wait=WAIT)
    try:
        yield project.id, boot
    finally:
        openstack_cloud.purge(admin, created, WAIT, POLL)
        admin.identity.delete_project(project)


def test_usage_collected_once(openstack_cloud, erp, boot, usage_project):
    from proteus import Model
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    from billing_usage.aggregation import split_days
    from billing_usage.tests.tools import create_usage_service
    from cloud_billing import metering
    from subscription_core.money import round_money
    from subscription_core.tests.tools import create_customer, run_billing

    project_a, boot_a = usage_project
    admin = openstack_cloud.connect("admin")
    ran, shelved, deleted = (boot_a(n) for n in ("ran", "shelved", "deleted"))
    foreign = boot("customer-b", "foreign")
    admin.compute.shelve_server(shelved.id)
    admin.compute.wait_for_server(
        admin.compute.get_server(shelved.id), status="SHELVED_OFFLOADED",
        failures=["ERROR"], interval=POLL, wait=WAIT)
    admin.compute.delete_server(deleted.id, force=True)
    admin.compute.wait_for_delete(deleted, interval=POLL, wait=WAIT)

    now = datetime.datetime.utcnow()
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - 26 * HOUR
    launched = start + HOUR / 2
    for server in (ran, shelved, deleted, foreign):
        travel_nova(openstack_cloud, server.id, launched,
                    end - 2 * HOUR + HOUR / 4 if server is deleted else None)
    days = [d for d, _, _ in split_days(start, end)]
    assert len(days) >= 2

    # Finance's setup: the default metrics, on-demand daily services
    # (the rows' quantities have 6 decimals: so has the services' unit)
    Uom = Model.get("product.uom")
    hour, = Uom.find([("name", "=", "Hour")])
    unit, = hour.duplicate(default={
        "name": "Metered hour", "rounding": Decimal("0.000001"),
        "digits": 6})
    Metric = Model.get("billing_usage.metric")
    services = {}
    for values in metering.METRICS:
        metric = Metric(**{k: v for k, v in values.items() if v})
        metric.save()
        service = create_usage_service(
            metric.code, metric.name, "0.10", metric, period="day")
        template = service.product.template
        template.default_uom = unit
        template.save()
        service.reload()
        services[metric.code] = service
    Cloud = Model.get("cloud_billing.cloud")
    cloud = Cloud(name="Test cloud", entry="admin",
                  region=openstack_cloud.region_name)
    cloud.save()
    Subscription = Model.get("sale.subscription")
    subscription = Subscription(party=create_customer("Customer A"))
    subscription.start_date = days[0] - datetime.timedelta(days=1)
    subscription.cloud = cloud
    subscription.project_id = project_a
    for service in services.values():
        subscription.lines.new(service=service)
    subscription.click("quote")
    subscription.click("run")

    database = erp.database_name

    def collect(window_start, window_end):
        with Transaction().start(database, erp.user,
                                 context=erp.context) as transaction:
            SubscriptionModel = Pool().get("sale.subscription")
            record, = SubscriptionModel.fetch_cloud_usage(
                [SubscriptionModel(subscription.id)], window_end,
                window_start)
            result = (record.state, record.servers, record.volumes,
                      record.floating_ips, record.accepted,
                      record.duplicates, record.rejected, record.skipped,
                      record.error)
            transaction.commit()
        return result

    first = collect(start, end)
    state, servers, volumes, ips, accepted, duplicates, rejected, skipped, \
        error = first
    assert (state, servers, volumes, ips, duplicates, rejected, error) == (
        "done", 3, None, None, 0, 0, None), first
    assert skipped.splitlines() == [
        "Volumes: the cloud has no block storage API (Cinder).",
        "Floating IPs: the cloud has no network API (Neutron).",
        ]

    # Per server and day, the hours of Nova's own answer for the day
    Event = Model.get("billing_usage.event")
    events = Event.find([("subscription", "=", subscription.id)])
    assert len(events) == accepted
    collected = defaultdict(Decimal)
    for event in events:
        properties = json.loads(event.properties)
        collected[properties["server"], event.timestamp.date()] += Decimal(
            str(properties["hours"]))
    expected = {}
    for day, piece_start, piece_end in split_days(start, end):
        for server_id, hours in nova_hours(
                admin, project_a, piece_start, piece_end).items():
            expected[server_id, day] = hours
    assert {k for k in expected} == {k for k in collected}
    for key, hours in expected.items():
        assert abs(collected[key] - hours) < Decimal("0.0001"), key
    assert {s for s, _ in collected} == {ran.id, shelved.id, deleted.id}
    # 25.5 hours for the running and the shelved server (Nova counts a
    # shelved server's hours), 23.75 for the deleted one
    by_server = defaultdict(Decimal)
    for (server_id, _), hours in collected.items():
        by_server[server_id] += hours
    assert by_server == {ran.id: Decimal("25.5"),
                         shelved.id: Decimal("25.5"),
                         deleted.id: Decimal("23.75")}, by_server

    # Collected again: nothing new
    assert collect(start, end)[4:6] == (0, accepted)
    subscription.reload()
    assert subscription.cloud_usage_until == end

    # Rows per day and flavor, invoiced once
    Row = Model.get("billing_usage.row")
    tomorrow = end.date() + datetime.timedelta(days=1)
    with Transaction().start(database, erp.user,
                             context=erp.context) as transaction:
        Pool().get("billing_usage.row").generate(tomorrow)
        transaction.commit()
    rows = {(r.day, r.group_value): r.quantity for r in Row.find([
        ("subscription", "=", subscription.id)])}
    flavor = openstack_cloud.flavor["name"]
    assert set(rows) == {(day, flavor) for day in days}
    assert sum(rows.values()) == Decimal("74.75")

    run_billing(tomorrow)
    InvoiceLine = Model.get("account.invoice.line")

    # One invoice line per day (quantity 1 at the day's amount): the hours
    # it billed are its structured billing quantity, its amount the day's
    # hours at 0.10 rounded once
    per_day = defaultdict(Decimal)
    for (day, _), quantity in rows.items():
        per_day[day] += quantity
    expected_amount = sum(
        (round_money(q * Decimal("0.10"), Decimal("0.01"))
         for q in per_day.values()), Decimal(0))

    def billed():
        lines = InvoiceLine.find([
            ("invoice.party", "=", subscription.party.id),
            ("product", "=", services[metering.SERVER_HOURS].product.id),
            ])
        return (sum((l.billing_quantity for l in lines), Decimal(0)),
                sum((l.amount for l in lines), Decimal(0)), len(lines))
    assert billed() == (Decimal("74.75"), expected_amount, len(days))

    # Everything again: the collector, the rows, the billing
    assert collect(start, end)[4:6] == (0, accepted)
    with Transaction().start(database, erp.user,
                             context=erp.context) as transaction:
        Pool().get("billing_usage.row").generate(tomorrow)
        transaction.commit()
    run_billing(tomorrow)
    assert billed() == (Decimal("74.75"), expected_amount, len(days))

    # The button collects from the watermark to the last whole hour (an
    # hour that ended since, if any): nothing before end is added
    subscription.click("collect_usage")
    subscription.reload()
    assert subscription.cloud_usage_until >= end
    assert len([e for e in Event.find([
        ("subscription", "=", subscription.id)])
        if e.timestamp < end]) == accepted
