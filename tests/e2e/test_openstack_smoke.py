"""Smoke test of the loopback OpenStack test cloud through openstacksdk.

It checks what the billing product relies on against the real Keystone,
Nova, Placement and Glance APIs: authentication, flavors, the server
lifecycle (boot, shelve to SHELVED_OFFLOADED, unshelve, delete), per-project
compute quotas set by an admin and enforced by Nova (403 past the quota), and
tenant isolation.
"""

import time
import uuid

import pytest
from openstack import exceptions

pytestmark = pytest.mark.e2e

WAIT = 120          # seconds; a fake-driver boot takes ~1-2 s
POLL = 0.5


def _boot(conn, cloud, name):
    return conn.compute.create_server(
        name=name, flavor_id=cloud.flavor_id, image_id=cloud.image_id,
        networks="none")


def _wait(conn, server, status):
    return conn.compute.wait_for_server(server, status=status,
                                        failures=["ERROR"], interval=POLL,
                                        wait=WAIT)


def _wait_gone(conn, server):
    """Wait until Nova answers 404 for server

    The SDK's wait_for_delete also returns on status DELETED, which Nova
    shows for a moment before the 404.
    """
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            conn.compute.get_server(server.id)
        except exceptions.NotFoundException:
            return
        time.sleep(POLL)
    pytest.fail(f"server {server.id} still answers after {WAIT}s")


def _delete_quietly(conn, server_id):
    try:
        # Forced: the test cloud keeps deleted servers SOFT_DELETED.
        conn.compute.delete_server(server_id, force=True)
        conn.compute.wait_for_delete(
            conn.compute.get_server(server_id), interval=POLL, wait=WAIT)
    except exceptions.NotFoundException:
        pass


def test_authenticate_and_list_flavors(openstack_cloud):
    conn = openstack_cloud.connect("customer-a")
    assert conn.authorize()  # a Keystone token for customer-a
    assert conn.current_project_id == openstack_cloud.project_id("customer-a")

    flavors = {f.id: f for f in conn.compute.flavors()}
    assert openstack_cloud.flavor_id in flavors
    flavor = flavors[openstack_cloud.flavor_id]
    assert (flavor.vcpus, flavor.ram, flavor.disk) == (1, 512, 1)

    image = conn.image.get_image(openstack_cloud.image_id)
    assert image.status == "active"
    assert image.visibility == "public"


def test_server_lifecycle_and_quota(openstack_cloud):
    cloud = openstack_cloud
    conn = cloud.connect("customer-a")
    admin = cloud.connect("admin")
    project_a = cloud.project_id("customer-a")
    suffix = uuid.uuid4().hex[:8]
    created = []
    try:
        # Boot with no network at all and wait for ACTIVE.
        server = _boot(conn, cloud, f"smoke-{suffix}")
        created.append(server.id)
        server = _wait(conn, server, "ACTIVE")
        assert server.flavor.vcpus == 1
        assert server.project_id == project_a

        # Another tenant cannot see it.
        with pytest.raises(exceptions.NotFoundException):
            cloud.connect("customer-b").compute.get_server(server.id)

        # Shelve: shelved_offload_time defaults to 0, so it is offloaded.
        conn.compute.shelve_server(server)
        server = _wait(conn, server, "SHELVED_OFFLOADED")

        conn.compute.unshelve_server(server)
        server = _wait(conn, server, "ACTIVE")

        # Admin sets customer-a's compute quota and reads it back.
        try:
            admin.compute.update_quota_set(project_a, cores=1, ram=512,
                                           instances=1)
            quota = admin.compute.get_quota_set(project_a)
            assert (quota.cores, quota.ram, quota.instances) == (1, 512, 1)

            # The running server uses the whole quota: one more is refused.
            with pytest.raises(exceptions.HttpException) as refused:
                extra = _boot(conn, cloud, f"smoke-over-{suffix}")
                created.append(extra.id)
            assert refused.value.status_code == 403, refused.value
            assert isinstance(refused.value, exceptions.ForbiddenException)
            assert "quota" in str(refused.value).lower(), refused.value
        finally:
            admin.compute.revert_quota_set(project_a)
        quota = admin.compute.get_quota_set(project_a)
        assert quota.instances > 1  # back to the defaults

        # Delete: the cloud keeps it SOFT_DELETED (its reclaim interval);
        # a forced delete removes it for good.
        conn.compute.delete_server(server)
        _wait(conn, server, "SOFT_DELETED")
        conn.compute.delete_server(server, force=True)
        _wait_gone(conn, server)
        created.remove(server.id)
        with pytest.raises(exceptions.NotFoundException):
            conn.compute.get_server(server.id)
        assert server.id not in {s.id for s in conn.compute.servers()}
    finally:
        for server_id in created:
            _delete_quietly(conn, server_id)
