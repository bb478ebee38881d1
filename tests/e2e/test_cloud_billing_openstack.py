"""End-to-end tests of cloud_billing's remote-call layer on the test cloud.

``cloud_billing.openstack`` (the functions the billing actions call) against
the real Keystone and Nova of the loopback test cloud: the connection from a
clouds.yaml entry, the listing that feeds the resource sync, shelve to
SHELVED_OFFLOADED and unshelve to ACTIVE, a quota change read back, a delete
refused for a server of another project, a delete (the cloud's reclaim
interval leaves it SOFT_DELETED), a restore of a soft-deleted server, and a
404 counted done.
The billing account is the cloud's ``admin`` entry, as in production (quotas
and actions across projects need it).
"""

import time

import pytest
from openstack import exceptions

from cloud_billing import openstack
from cloud_billing.openstack import ALREADY, DONE, FAILED, GONE

pytestmark = pytest.mark.e2e

WAIT = 120          # seconds; a fake-driver transition takes ~1-2 s
POLL = 0.5


@pytest.fixture(scope="module")
def billing(openstack_cloud):
    "The billing account's connection, built by cloud_billing itself"
    return openstack.connect(
        "admin", region=openstack_cloud.region_name,
        clouds_yaml=openstack_cloud.clouds_yaml, connect_timeout=5,
        read_timeout=30)


def test_list_servers_of_a_project(openstack_cloud, billing, boot):
    project_a = openstack_cloud.project_id("customer-a")
    first, second = boot(name="sync-1"), boot(name="sync-2")
    foreign = boot("customer-b", name="sync-b")

    servers = openstack.list_servers(billing, project_a)

    by_id = {s.id: s for s in servers}
    assert {first.id, second.id} <= set(by_id)
    assert foreign.id not in by_id
    for server in (first, second):
        listed = by_id[server.id]
        assert (listed.name, listed.project_id, listed.status,
                listed.flavor) == (server.name, project_a, "ACTIVE",
                                   openstack_cloud.flavor["name"])


def test_shelve_and_unshelve(openstack_cloud, billing, boot):
    project_a = openstack_cloud.project_id("customer-a")
    server = boot(name="shelve")

    outcome, = openstack.shelve(
        billing, [server.id], project_a, wait=WAIT, interval=POLL)
    assert (outcome.result, outcome.status, outcome.error) == (
        DONE, "SHELVED_OFFLOADED", None), outcome
    assert outcome.request_id.startswith("req-")
    assert outcome.request_id != outcome.global_request_id
    assert billing.compute.get_server(server.id).status == \
        "SHELVED_OFFLOADED"

    outcome, = openstack.shelve(billing, [server.id], project_a)
    assert outcome.result == ALREADY, outcome

    outcome, = openstack.unshelve(
        billing, [server.id], project_a, wait=WAIT, interval=POLL)
    assert (outcome.result, outcome.status) == (DONE, "ACTIVE"), outcome
    assert billing.compute.get_server(server.id).status == "ACTIVE"

    outcome, = openstack.unshelve(billing, [server.id], project_a)
    assert outcome.result == ALREADY, outcome


def test_shelve_twice_in_a_row_is_409_then_already(
        openstack_cloud, billing, boot):
    "A second shelve while the first runs gets Nova's 409: retry, never fail"
    project_a = openstack_cloud.project_id("customer-a")
    server = boot(name="shelve-409")
    billing.compute.shelve_server(server.id)

    outcome, = openstack.shelve(billing, [server.id], project_a)
    assert outcome.result in {ALREADY, "retry"}, outcome
    assert not outcome.sent or outcome.result == ALREADY
    outcome, = openstack.wait_for_status(
        billing, [server.id], "SHELVED_OFFLOADED", WAIT, POLL)
    assert outcome.result == DONE, outcome
    outcome, = openstack.shelve(billing, [server.id], project_a)
    assert outcome.result == ALREADY, outcome


def test_quota_change_read_back(openstack_cloud, billing, boot):
    project_a = openstack_cloud.project_id("customer-a")
    try:
        outcome = openstack.quota_change(
            billing, project_a, {"cores": 6, "ram": 3072, "instances": 3})
        assert outcome.result == DONE, outcome
        assert outcome.applied == {"cores": 6, "ram": 3072, "instances": 3}
        assert outcome.request_id.startswith("req-")
        quota = billing.compute.get_quota_set(project_a)
        assert (quota.cores, quota.ram, quota.instances) == (6, 3072, 3)

        outcome = openstack.quota_change(
            billing, project_a, {"cores": 6, "ram": 3072, "instances": 3})
        assert outcome.result == ALREADY, outcome

        # Block storage keys are skipped: the test cloud has no Cinder.
        outcome = openstack.quota_change(
            billing, project_a, {"cores": 4, "volumes": 2})
        assert outcome.result == DONE, outcome
        assert outcome.applied == {"cores": 4}
        assert set(outcome.skipped) == {"volumes"}

        # Never forced: below the usage of a running server, Nova refuses.
        boot(name="quota")
        outcome = openstack.quota_change(billing, project_a, {"instances": 0})
        assert outcome.result == FAILED, outcome
        assert outcome.error
        assert billing.compute.get_quota_set(project_a).instances == 3
    finally:
        billing.compute.revert_quota_set(project_a)


def test_delete_checks_the_project(openstack_cloud, billing, boot):
    project_a = openstack_cloud.project_id("customer-a")
    ours = boot(name="delete")
    foreign = boot("customer-b", name="delete-b")

    refused, deleted = openstack.delete(
        billing, [foreign.id, ours.id], project_a, wait=WAIT, interval=POLL)

    assert refused.result == FAILED, refused
    assert "Refused" in refused.error and not refused.sent
    assert billing.compute.get_server(foreign.id).status == "ACTIVE"
    # The test cloud has a reclaim interval: deleted, but restorable.
    assert openstack_cloud.reclaim_seconds > 0
    assert (deleted.result, deleted.status) == (
        DONE, "SOFT_DELETED"), deleted
    assert deleted.request_id.startswith("req-")
    # Nova's listing leaves soft-deleted servers out; their own read finds
    # them, restorable.
    assert ours.id not in {
        s.id for s in openstack.list_servers(billing, project_a)}
    assert billing.compute.get_server(ours.id).status == "SOFT_DELETED"
    again, = openstack.delete(billing, [ours.id], project_a)
    assert (again.result, again.sent) == (ALREADY, False), again

    # Gone (404) counts as done, and nothing is sent. (Nova shows status
    # DELETED for a moment before it answers 404: that is "already".)
    billing.compute.delete_server(ours.id, force=True)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            billing.compute.get_server(ours.id)
        except exceptions.NotFoundException:
            break
        time.sleep(POLL)
    again, = openstack.delete(billing, [ours.id], project_a)
    assert (again.result, again.sent, again.error) == (DONE, False, None)


def test_soft_delete_and_restore(openstack_cloud, billing, boot):
    "A deleted server comes back with Nova's restore until reclaimed"
    project_a = openstack_cloud.project_id("customer-a")
    server = boot(name="restore")

    deleted, = openstack.delete(
        billing, [server.id], project_a, wait=WAIT, interval=POLL)
    assert (deleted.result, deleted.status) == (
        DONE, "SOFT_DELETED"), deleted
    gone, present = openstack.confirm_missing(
        billing, [server.id], project_a)
    assert (gone, list(present)) == (set(), [server.id])

    restored, = openstack.restore(
        billing, [server.id], project_a, wait=WAIT, interval=POLL)
    assert (restored.result, restored.status, restored.sent) == (
        DONE, "ACTIVE", True), restored
    assert restored.request_id.startswith("req-")
    assert billing.compute.get_server(server.id).status == "ACTIVE"
    again, = openstack.restore(billing, [server.id], project_a)
    assert (again.result, again.sent) == (ALREADY, False), again

    # Reclaimed (here forced): nothing comes back.
    billing.compute.delete_server(server.id, force=True)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            billing.compute.get_server(server.id)
        except exceptions.NotFoundException:
            break
        time.sleep(POLL)
    reclaimed, = openstack.restore(billing, [server.id], project_a)
    assert (reclaimed.result, reclaimed.sent) == (GONE, False), reclaimed
