"""The world the fault tests break: customers of a cloud, their servers in a
fake Nova that several processes share, a mail server on loopback.

* ``setup_customers`` (a setup function of ``activate_modules``, so
  ``DB_CACHE`` snapshots it): billing set up, a cloud, and one running
  cloud subscription per name of ``CUSTOMERS`` from 1 January 2026, each
  with one server (``server_id(name)``, the same in every snapshot) and an
  email address; payment term of 14 days, a dunning level that plans
  *Grace* the day after the due date.
* ``setup_grace``: then the billing days of 1 and 16 February: January is
  invoiced, unpaid, the customers are in grace and their shelve is planned
  on ``SHELVE_DAY``.
* ``SharedNova``: the fake Nova of ``cloud_billing.tests.fake_openstack``
  with its state in a file, each call under a lock of that file, so that a
  worker process, a process that was killed and the test see the same
  servers and the same requests.
* ``open_database``: a database built in another process (the fault tests
  that start processes), opened by the test's own process.
"""
import contextlib
import datetime
import fcntl
import os
import pickle
import uuid

from cloud_billing import openstack
from cloud_billing.tests import fake_openstack
from cloud_billing.tests.tools import create_cloud_customers
from subscription_core.tests.tools import run_billing

D = datetime.date
CUSTOMERS = ['alpha', 'beta']
SHELVE_DAY = D(2026, 2, 18)
# The connection factory name the ERP reaches the fake Nova by (context key
# cloud_billing_connection)
FAKE = 'fake'


def server_id(name):
    "The uuid of the server of customer name, the same in every snapshot"
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, '%s.faults.test' % name))


def project_id(name):
    return 'p-%s' % name


def fresh_nova():
    "A fake Nova with one ACTIVE server per customer"
    nova = fake_openstack.FakeCloud()
    for name in CUSTOMERS:
        nova.add_server(project_id(name), name=name,
            server_id=server_id(name))
    return nova


def setup_customers(config):
    "The customers of CUSTOMERS, running from 1 January 2026 (see above)"
    fake_openstack.CLOUD = fake_openstack.FakeCloud()
    openstack.register_connection_factory(FAKE, fake_openstack.connect)
    config._context['cloud_billing_connection'] = FAKE
    create_cloud_customers(CUSTOMERS, fake_openstack.CLOUD,
        server_id=server_id, config=config)


def setup_grace(config):
    "January invoiced and unpaid: in grace, the shelves planned"
    config._context['cloud_billing_connection'] = FAKE
    run_billing(D(2026, 2, 1), config=config)
    run_billing(D(2026, 2, 16), config=config)


class SharedNova:
    """The fake Nova, its state in the file path, shared by processes

    ``connect`` is a connection factory for ``cloud_billing.openstack``:
    every call of a connection loads the state under an exclusive lock of
    the file, runs on it as the in-memory fake does, and saves it.
    """

    def __init__(self, path):
        self.path = str(path)

    def save(self, nova):
        with self.locked():
            self._write(nova)

    def load(self):
        with self.locked():
            return self._read()

    def _read(self):
        with open(self.path, 'rb') as file:
            return pickle.load(file)

    def _write(self, nova):
        temporary = self.path + '.tmp'
        with open(temporary, 'wb') as file:
            pickle.dump(nova, file)
        os.replace(temporary, self.path)

    @contextlib.contextmanager
    def locked(self):
        with open(self.path + '.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def state(self):
        "The state, saved back when the block ends (raising or not)"
        with self.locked():
            nova = self._read()
            try:
                yield nova
            finally:
                self._write(nova)

    def connect(self, cloud, region=None, **options):
        return _SharedConnection(self)

    def register(self):
        "Make the ERP's fake connection this shared Nova, in this process"
        openstack.register_connection_factory(FAKE, self.connect)


class _SharedConnection:
    "A connection whose calls run on the shared state"

    def __init__(self, nova):
        self._nova = nova
        self.session = fake_openstack._Session()
        self.global_request_id = None
        self.compute = _SharedService(self, 'compute')

    def _call(self, service, name, *args, **kwargs):
        with self._nova.state() as nova:
            connection = nova.connection()
            connection.session = self.session
            connection.global_request_id = self.global_request_id
            return getattr(getattr(connection, service), name)(
                *args, **kwargs)

    @property
    def current_project_id(self):
        return fake_openstack.ADMIN_PROJECT

    @property
    def block_storage(self):
        return _SharedService(self, 'block_storage')

    def has_service(self, name):
        with self._nova.state() as nova:
            return nova.connection().has_service(name)

    def set_global_request_id(self, global_request_id):
        self.global_request_id = global_request_id


class _SharedService:
    def __init__(self, connection, name):
        self._connection = connection
        self._name = name

    def __getattr__(self, method):
        def call(*args, **kwargs):
            return self._connection._call(
                self._name, method, *args, **kwargs)
        return call
