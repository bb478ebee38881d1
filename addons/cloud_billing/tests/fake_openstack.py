# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""A test double of an openstacksdk Connection: a tiny Nova in memory.

It offers the surface ``cloud_billing.openstack`` uses (``compute`` servers,
actions and quota sets, ``block_storage`` quota sets, ``has_service``,
``current_project_id``, ``set_global_request_id``, the requests response
hooks of ``session.session``) and answers the way Nova does:

* errors are real ``requests.Response`` objects turned into SDK exceptions
  by ``openstack.exceptions.raise_from_response`` (Nova's JSON error body,
  ``x-openstack-request-id``), timeouts are keystoneauth's ``ConnectTimeout``;
* a state machine that moves one step each time a server in transition is
  read: ACTIVE → (shelving) → SHELVED (shelving_offloading) →
  SHELVED_OFFLOADED, and back through ``unshelving``; delete goes through
  ``deleting`` to 404, or to SOFT_DELETED on a cloud with a reclaim
  interval (``FakeCloud(reclaim_seconds=...)``) unless SHELVED_OFFLOADED
  (Nova deletes a server without host at once), from which ``restore``
  goes through ``restoring`` back to ACTIVE until ``reclaim()`` (Nova's
  periodic task) forgets the soft-deleted servers;
* a project-scoped connection sees only its project's servers (404 for the
  others) and may not list all projects or change quotas (403);
* usage as Nova, Cinder and Neutron report it: ``get_usage`` (Nova's
  ``os-simple-tenant-usage``: hours from a server's launch to its final
  deletion, on the clock ``FakeCloud.now`` that a test moves, paged by
  ``limit``/``marker``), ``block_storage.volumes`` and ``network.ips``
  (``add_volume``, ``add_floating_ip``); a cloud without block storage or
  network API (``FakeCloud(block_storage=False, network=False)``) answers
  ``has_service`` with False as Nova's catalog does;
* faults to inject: ``inject(operation, server_id, fault)`` for 409, 404,
  5xx, ``timeout`` (nothing done) or ``lost`` (done, but the answer timed
  out); ``lock`` (409 on every action), ``stick`` (never leaves its
  transition), ``status='ERROR'``.
"""
import dataclasses
import datetime
import itertools
import json
import uuid

import requests
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as os_exceptions

ADMIN_PROJECT = 'admin-project'
DEFAULT_QUOTA = {'cores': 20, 'ram': 51200, 'instances': 10}
DEFAULT_BLOCK_QUOTA = {'volumes': 10, 'gigabytes': 1000}
NOVA = 'http://nova.test/v2.1'

# action: [(status, task_state) steps after the request], final state
TRANSITIONS = {
    'shelve': [('ACTIVE', 'shelving'), ('SHELVED', 'shelving_offloading')],
    'unshelve': [('SHELVED_OFFLOADED', 'unshelving'), ('ACTIVE', 'spawning')],
    'delete': [(None, 'deleting')],
    'restore': [('SOFT_DELETED', 'restoring')],
    }
FINAL = {
    'shelve': ('SHELVED_OFFLOADED', None),
    'unshelve': ('ACTIVE', None),
    'delete': ('DELETED', None),
    'restore': ('ACTIVE', None),
    }


@dataclasses.dataclass
class FakeServer:
    id: str
    name: str
    project_id: str
    status: str = 'ACTIVE'
    task_state: str | None = None
    flavor: object = None
    locked: bool = False
    stuck: bool = False
    steps: list = dataclasses.field(default_factory=list)
    final: tuple | None = None
    # Nova's launched_at and terminated_at (naive UTC)
    launched_at: datetime.datetime | None = None
    terminated_at: datetime.datetime | None = None


@dataclasses.dataclass
class FakeFlavor:
    original_name: str
    vcpus: int = 1
    ram: int = 512
    name: str | None = None
    id: str | None = None


class FakeQuotaSet:
    def __init__(self, values):
        for key, value in values.items():
            setattr(self, key, value)


class FakeCloud:
    "The state shared by every connection to the fake cloud"

    def __init__(self, block_storage=False, offload=True, reclaim_seconds=0,
            network=False, now=datetime.datetime(2026, 1, 1)):
        self.servers = {}
        # Every server ever booted (Nova keeps the deleted ones' usage)
        self.history = {}
        # The cloud's clock (naive UTC): launches and deletions happen now
        self.now = now
        self.network = network
        self.volumes = {}
        self.floating_ips = {}
        # Nova's reclaim_instance_interval: a delete soft-deletes.
        self.reclaim_seconds = reclaim_seconds
        self.quotas = {}
        self.block_quotas = {}
        self.block_storage = block_storage
        self.offload = offload
        self.faults = []
        self.calls = []     # (method, path, global request id, request id)
        self.ignored_quota_keys = set()
        # Servers the listing leaves out (a short page, a cell down) while
        # their own read still finds them
        self.unlisted = set()
        self._ids = itertools.count(1)

    def add_server(self, project_id, name=None, status='ACTIVE',
            flavor='m1.tiny', server_id=None):
        server = FakeServer(
            id=server_id or str(uuid.uuid4()), name=name or 'server',
            project_id=project_id, status=status,
            flavor=FakeFlavor(original_name=flavor), launched_at=self.now)
        self.servers[server.id] = server
        self.history[server.id] = server
        return server

    def add_volume(self, project_id, size, created_at=None, name=None,
            volume_type='standard'):
        volume = {
            'id': str(uuid.uuid4()), 'name': name or 'volume',
            'size': size, 'project_id': project_id,
            'created_at': (created_at or self.now).isoformat() + '.000000',
            'status': 'available', 'volume_type': volume_type,
            }
        self.volumes[volume['id']] = volume
        return volume

    def add_floating_ip(self, project_id, address, created_at=None):
        floating_ip = {
            'id': str(uuid.uuid4()), 'floating_ip_address': address,
            'project_id': project_id,
            'created_at': (created_at or self.now).strftime(
                '%Y-%m-%dT%H:%M:%SZ'),
            'status': 'DOWN',
            }
        self.floating_ips[floating_ip['id']] = floating_ip
        return floating_ip

    def connection(self, project_id=ADMIN_PROJECT):
        return FakeConnection(self, project_id)

    def inject(self, operation, server_id=None, fault=409, times=1):
        """The next call of operation (on server_id) fails with fault

        fault: an HTTP status, 'timeout' (nothing done), 'lost' (done but
        the answer never came back) or 'race' (someone else did it just
        before: 409).
        """
        self.faults.append([operation, server_id, fault, times])

    def reclaim(self):
        "Nova's periodic task: the soft-deleted servers are gone for good"
        for server_id, server in list(self.servers.items()):
            if server.status == 'SOFT_DELETED' and not server.task_state:
                server.terminated_at = self.now
                del self.servers[server_id]

    def quota(self, project_id):
        return self.quotas.setdefault(project_id, dict(DEFAULT_QUOTA))

    def block_quota(self, project_id):
        return self.block_quotas.setdefault(
            project_id, dict(DEFAULT_BLOCK_QUOTA))

    def actions(self, method=None):
        "The calls made, as (method, path), optionally for one method"
        return [(m, p) for m, p, _, _ in self.calls
            if method is None or m == method]

    def _fault(self, operation, server_id):
        for fault in self.faults:
            if fault[0] == operation and fault[1] in {None, server_id}:
                fault[3] -= 1
                if fault[3] <= 0:
                    self.faults.remove(fault)
                return fault[2]
        return None

    def _advance(self, server):
        if server.stuck:
            return
        if server.steps:
            status, task_state = server.steps.pop(0)
            server.status = status or server.status
            server.task_state = task_state
        elif server.final:
            server.status, server.task_state = server.final
            server.final = None
            if server.status == 'DELETED':
                server.terminated_at = self.now
                del self.servers[server.id]

    def _start(self, server, action):
        steps = list(TRANSITIONS[action])
        final = FINAL[action]
        if action == 'shelve' and not self.offload:
            steps, final = steps[:1], ('SHELVED', None)
        if (action == 'delete' and self.reclaim_seconds
                and server.status != 'SHELVED_OFFLOADED'):
            # As Nova: a server without host (offloaded) is deleted at
            # once, whatever the reclaim interval.
            final = ('SOFT_DELETED', None)
        # the request itself moves the server to its first step
        status, server.task_state = steps.pop(0)
        server.status = status or server.status
        server.steps, server.final = steps, final


def _response(conn, method, path, status, body=None):
    response = requests.Response()
    response.status_code = status
    response.url = NOVA + path
    request_id = 'req-%s' % uuid.uuid4()
    response.headers['x-openstack-request-id'] = request_id
    response.headers['x-compute-request-id'] = request_id
    response.reason = requests.status_codes._codes[status][0].upper()
    response.request = requests.Request(method, response.url).prepare()
    if body is not None:
        response.headers['content-type'] = 'application/json'
        response._content = json.dumps(body).encode()
    else:
        response._content = b''
    conn.cloud.calls.append(
        (method, path, conn.global_request_id, request_id))
    for hook in conn.session.session.hooks.get('response', []):
        hook(response)
    return response


ERROR_KEYS = {
    400: 'badRequest', 403: 'forbidden', 404: 'itemNotFound',
    409: 'conflictingRequest', 500: 'computeFault', 503: 'serviceUnavailable',
    }


def _raise(conn, method, path, status, message):
    response = _response(conn, method, path, status, {
            ERROR_KEYS.get(status, 'error'): {
                'code': status, 'message': message}})
    os_exceptions.raise_from_response(response)


def _timeout(conn, method, path):
    conn.cloud.calls.append((method, path, conn.global_request_id, None))
    raise ks_exceptions.ConnectTimeout(
        'Request to %s%s timed out' % (NOVA, path))


class _Session:
    def __init__(self):
        self.session = requests.Session()
        self.session.hooks = {'response': []}
        self.timeout = None


class FakeConnection:
    def __init__(self, cloud, project_id):
        self.cloud = cloud
        self.project_id = project_id
        self.global_request_id = None
        self.session = _Session()
        self.compute = _Compute(self)
        self.auth_fault = None

    @property
    def admin(self):
        return self.project_id == ADMIN_PROJECT

    @property
    def current_project_id(self):
        if self.auth_fault == 'timeout':
            _timeout(self, 'POST', '/identity/v3/auth/tokens')
        elif self.auth_fault:
            raise ks_exceptions.Unauthorized(
                'The request you have made requires authentication.',
                http_status=401)
        return self.project_id

    @property
    def block_storage(self):
        if not self.cloud.block_storage:
            raise os_exceptions.ServiceDisabledException(
                "Service 'block-storage' is disabled because its "
                "configuration could not be loaded.")
        return _BlockStorage(self)

    @property
    def network(self):
        if not self.cloud.network:
            raise os_exceptions.ServiceDisabledException(
                "Service 'network' is disabled because its configuration "
                "could not be loaded.")
        return _Network(self)

    def has_service(self, name):
        if name in {'block-storage', 'volume'}:
            return self.cloud.block_storage
        if name == 'network':
            return self.cloud.network
        return name == 'compute'

    def set_global_request_id(self, global_request_id):
        self.global_request_id = global_request_id


class _Compute:
    def __init__(self, conn):
        self.conn = conn
        self.cloud = conn.cloud

    def _check_fault(self, operation, method, path, server_id=None):
        fault = self.cloud._fault(operation, server_id)
        if fault == 'timeout':
            _timeout(self.conn, method, path)
        if isinstance(fault, int):
            _raise(self.conn, method, path, fault,
                "Injected fault %s on %s." % (fault, operation))
        return fault

    def _server(self, method, path, server_id):
        server = self.cloud.servers.get(server_id)
        if server is None or (not self.conn.admin
                and server.project_id != self.conn.project_id):
            _raise(self.conn, method, path, 404,
                "Instance %s could not be found." % server_id)
        return server

    def get_server(self, server_id):
        self.conn.current_project_id
        path = '/servers/%s' % server_id
        self._check_fault('get_server', 'GET', path, server_id)
        server = self._server('GET', path, server_id)
        _response(self.conn, 'GET', path, 200)
        snapshot = dataclasses.replace(server)
        self.cloud._advance(server)
        return snapshot

    def servers(self, details=True, all_projects=False, **query):
        self.conn.current_project_id
        path = '/servers/detail'
        self._check_fault('servers', 'GET', path)
        if all_projects and not self.conn.admin:
            _raise(self.conn, 'GET', path, 403,
                "Policy doesn't allow os_compute_api:servers:detail:"
                "get_all_tenants to be performed.")
        project_id = (query.get('project_id') if all_projects
            else self.conn.project_id)
        _response(self.conn, 'GET', path, 200)
        return [dataclasses.replace(s) for s in self.cloud.servers.values()
            if (project_id is None or s.project_id == project_id)
            and s.id not in self.cloud.unlisted]

    def _action(self, operation, action, server_id):
        self.conn.current_project_id
        path = '/servers/%s/action' % server_id
        server = self._server('POST', path, server_id)
        fault = self._check_fault(operation, 'POST', path, server_id)
        if server.locked:
            _raise(self.conn, 'POST', path, 409,
                "Instance %s is locked" % server_id)
        allowed = {
            'shelve': {'ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'},
            'unshelve': {'SHELVED', 'SHELVED_OFFLOADED'},
            'restore': {'SOFT_DELETED'},
            }[action]
        if server.task_state:
            _raise(self.conn, 'POST', path, 409,
                "Cannot '%s' instance %s while it is in task_state %s"
                % (action, server_id, server.task_state))
        if server.status not in allowed:
            _raise(self.conn, 'POST', path, 409,
                "Cannot '%s' instance %s while it is in vm_state %s"
                % (action, server_id, server.status.lower()))
        if fault == 'race':
            # Another request got there first: now in the target state.
            server.status, server.task_state = FINAL[action]
            _raise(self.conn, 'POST', path, 409,
                "Cannot '%s' instance %s while it is in vm_state %s"
                % (action, server_id, server.status.lower()))
        self.cloud._start(server, action)
        if fault == 'lost':
            _timeout(self.conn, 'POST', path)
        _response(self.conn, 'POST', path, 202)

    def shelve_server(self, server_id):
        self._action('shelve_server', 'shelve', server_id)

    def unshelve_server(self, server_id):
        self._action('unshelve_server', 'unshelve', server_id)

    def restore_server(self, server_id):
        self._action('restore_server', 'restore', server_id)

    def delete_server(self, server_id, ignore_missing=True, force=False):
        self.conn.current_project_id
        path = '/servers/%s' % server_id
        fault = self._check_fault('delete_server', 'DELETE', path, server_id)
        server = self.cloud.servers.get(server_id)
        if server is None or (not self.conn.admin
                and server.project_id != self.conn.project_id):
            if ignore_missing:
                return
            _raise(self.conn, 'DELETE', path, 404,
                "Instance %s could not be found." % server_id)
        if server.locked:
            _raise(self.conn, 'DELETE', path, 409,
                "Instance %s is locked" % server_id)
        self.cloud._start(server, 'delete')
        if fault == 'lost':
            _timeout(self.conn, 'DELETE', path)
        _response(self.conn, 'DELETE', path, 204)

    def get_quota_set(self, project_id):
        self.conn.current_project_id
        path = '/os-quota-sets/%s' % project_id
        self._check_fault('get_quota_set', 'GET', path)
        if not self.conn.admin and project_id != self.conn.project_id:
            _raise(self.conn, 'GET', path, 403, "Policy doesn't allow it.")
        _response(self.conn, 'GET', path, 200)
        return FakeQuotaSet(self.cloud.quota(project_id))

    def update_quota_set(self, project_id, **attrs):
        self.conn.current_project_id
        path = '/os-quota-sets/%s' % project_id
        self._check_fault('update_quota_set', 'PUT', path)
        if not self.conn.admin:
            _raise(self.conn, 'PUT', path, 403, "Policy doesn't allow it.")
        if attrs.pop('force', None):
            raise AssertionError("quota updates must never be forced")
        used = self.cloud.usage(project_id)
        for key, value in attrs.items():
            if value != -1 and value < used.get(key, 0):
                _raise(self.conn, 'PUT', path, 400,
                    "Quota limit %s for %s must be greater than or equal "
                    "to already used and reserved %s."
                    % (value, key, used[key]))
        quota = self.cloud.quota(project_id)
        for key, value in attrs.items():
            if key not in self.cloud.ignored_quota_keys:
                quota[key] = value
        _response(self.conn, 'PUT', path, 200)
        return FakeQuotaSet(quota)


    def get_usage(self, project, start=None, end=None, limit=None,
            marker=None):
        "Nova's os-simple-tenant-usage/<project> (its hours formula)"
        self.conn.current_project_id
        path = '/os-simple-tenant-usage/%s' % project
        self._check_fault('get_usage', 'GET', path)
        if not self.conn.admin and project != self.conn.project_id:
            _raise(self.conn, 'GET', path, 403, "Policy doesn't allow it.")
        start = datetime.datetime.fromisoformat(start) if isinstance(
            start, str) else start
        end = datetime.datetime.fromisoformat(end) if isinstance(
            end, str) else end
        if not start < end:
            _raise(self.conn, 'GET', path, 400, "Invalid start time.")
        servers = sorted((s for s in self.cloud.history.values()
                if s.project_id == project and s.launched_at
                and s.launched_at <= end
                and (s.terminated_at is None or s.terminated_at >= start)),
            key=lambda s: s.id)
        if marker:
            servers = [s for s in servers if s.id > marker]
        if limit:
            servers = servers[:limit]
        usages = []
        for server in servers:
            stop = min(end, server.terminated_at or end)
            first = max(start, server.launched_at)
            usages.append({
                    'instance_id': server.id, 'name': server.name,
                    'tenant_id': server.project_id,
                    'flavor': server.flavor.original_name,
                    'vcpus': server.flavor.vcpus,
                    'memory_mb': server.flavor.ram, 'local_gb': 1,
                    'hours': max(0, (stop - first).total_seconds()) / 3600,
                    'started_at': server.launched_at.isoformat(),
                    'ended_at': (server.terminated_at.isoformat()
                        if server.terminated_at else None),
                    'state': ('terminated' if server.terminated_at
                        else server.status.lower()),
                    })
        _response(self.conn, 'GET', path, 200)
        return {'tenant_id': project, 'server_usages': usages}


class _Network:
    def __init__(self, conn):
        self.conn = conn
        self.cloud = conn.cloud

    def ips(self, project_id=None, **query):
        _response(self.conn, 'GET', '/v2.0/floatingips', 200)
        return [FakeQuotaSet(dict(f)) for f in self.cloud.floating_ips.values()
            if project_id is None or f['project_id'] == project_id]


class _BlockStorage:
    def __init__(self, conn):
        self.conn = conn
        self.cloud = conn.cloud

    def volumes(self, details=True, all_projects=False, **query):
        self.conn.current_project_id
        path = '/volume/volumes/detail'
        if all_projects and not self.conn.admin:
            _raise(self.conn, 'GET', path, 403, "Policy doesn't allow it.")
        project_id = (query.get('project_id') if all_projects
            else self.conn.project_id)
        _response(self.conn, 'GET', path, 200)
        return [FakeQuotaSet(dict(v)) for v in self.cloud.volumes.values()
            if project_id is None or v['project_id'] == project_id]

    def get_quota_set(self, project_id):
        _response(self.conn, 'GET', '/volume/os-quota-sets/%s' % project_id,
            200)
        return FakeQuotaSet(self.cloud.block_quota(project_id))

    def update_quota_set(self, project_id, **attrs):
        _response(self.conn, 'PUT', '/volume/os-quota-sets/%s' % project_id,
            200)
        self.cloud.block_quota(project_id).update(attrs)
        return FakeQuotaSet(self.cloud.block_quota(project_id))


def _usage(cloud, project_id):
    servers = [s for s in cloud.servers.values()
        if s.project_id == project_id and s.status != 'SHELVED_OFFLOADED']
    return {
        'instances': len(servers),
        'cores': sum(s.flavor.vcpus for s in servers),
        'ram': sum(s.flavor.ram for s in servers),
        }


FakeCloud.usage = _usage


# The cloud the scenarios and the model tests sync against: a module-level
# instance, reset by each of them, reached through the connection factory
# registered under the name 'fake' (context key cloud_billing_connection).
CLOUD = FakeCloud()


def connect(cloud, region=None, **options):
    "Connection factory for cloud_billing: an admin connection to CLOUD"
    return CLOUD.connection()


def reset():
    "A fresh CLOUD"
    global CLOUD
    CLOUD = FakeCloud()
    return CLOUD
