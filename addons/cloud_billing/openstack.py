# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Remote calls to OpenStack for cloud billing.

A plain module: it imports openstacksdk, never the ORM. Every function takes
an openstacksdk ``Connection`` (or a test double with the same surface), acts
only on the server UUIDs it is given, and returns what happened as data (one
``ServerOutcome`` per server, one ``QuotaOutcome`` per quota change) so that
the caller can record it. No exception of the SDK or of keystoneauth leaves a
function: a timeout, a lost connection, a 5xx or a 409 becomes ``retry``, a
refusal or an ERROR server becomes ``failed``.

Results of a server action:

``done``
    Nova accepted the request (and, when asked to wait, the server reached
    the target state in time). For ``delete``, a 404 counts as done.
``already``
    The server was in the target state before anything was sent.
``retry``
    Nothing final happened and trying later is safe: a task is in progress or
    the server is locked (409), a timeout, a lost connection, a 5xx, or the
    wait ended before the target state.
``failed``
    Needs a person: ERROR state, a state the action cannot leave, a server of
    another project (refused, never touched), a 4xx refusal.
``gone``
    ``shelve``/``unshelve``/``restore`` only: Nova no longer knows the
    server (404), or the server cannot come back (DELETED, or SOFT_DELETED
    for shelve and unshelve).

A server deleted on a cloud with a reclaim interval (Nova's
``reclaim_instance_interval``) is SOFT_DELETED: deleted, but ``restore``
brings it back until Nova's periodic task reclaims it. It is not gone: a
listing or a read that finds it SOFT_DELETED keeps it (``RESTORABLE``).

No credential leaves this module: the configuration files are read here
first, their secrets registered with ``subscription_core.redaction`` (which
then also redacts every log record of the process), a file that is not
valid YAML is reported by name and line only, and every error text
(``RemoteError.message``, hence every outcome's ``error``) is redacted.
"""
import dataclasses
import os
import re
import time
import uuid

import openstack.connection
import yaml
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as os_exceptions
from openstack.config import loader

from subscription_core import redaction

# Every log record of the process (openstacksdk, keystoneauth, trytond's
# worker tracebacks) is redacted when it is created.
redaction.install_log_filter()

DONE = 'done'
ALREADY = 'already'
RETRY = 'retry'
FAILED = 'failed'
GONE = 'gone'
RESULTS = (DONE, ALREADY, RETRY, FAILED, GONE)

# Nova server statuses
SHELVABLE = frozenset({'ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'})
SHELVED = frozenset({'SHELVED', 'SHELVED_OFFLOADED'})
# Without a host: Nova deletes it at once, even with a reclaim interval.
SHELVED_OFFLOADED = frozenset({'SHELVED_OFFLOADED'})
# Deleted, restorable or not: RESTORABLE until Nova reclaims it,
# GONE_STATUSES never back.
DELETED = frozenset({'DELETED', 'SOFT_DELETED'})
RESTORABLE = frozenset({'SOFT_DELETED'})
GONE_STATUSES = DELETED - RESTORABLE

COMPUTE_QUOTA_KEYS = ('cores', 'ram', 'instances')
BLOCK_STORAGE_QUOTA_KEYS = ('volumes', 'gigabytes')
QUOTA_KEYS = COMPUTE_QUOTA_KEYS + BLOCK_STORAGE_QUOTA_KEYS

CONNECT_TIMEOUT = 10    # seconds to open a connection to an API
READ_TIMEOUT = 60       # seconds to wait for an answer
CONNECT_RETRIES = 2     # keystoneauth retries of failed connections
POLL_INTERVAL = 2       # seconds between two reads while waiting


@dataclasses.dataclass(frozen=True)
class Server:
    "A server as listed by Nova"
    id: str
    name: str
    project_id: str
    status: str
    flavor: str | None = None
    task_state: str | None = None


@dataclasses.dataclass
class ServerOutcome:
    "What one action did to one server"
    server_id: str
    action: str
    result: str
    status: str | None = None
    error: str | None = None
    # Nova's id of the last request made for this server
    # (x-openstack-request-id): of the action call, or of the refusal.
    request_id: str | None = None
    # Our X-Openstack-Request-Id sent with every call for this server; Nova
    # logs it beside its own id, even when no answer came back.
    global_request_id: str | None = None
    # True when the action request was sent and may have been carried out
    # (accepted, or no answer: timeout, lost connection).
    sent: bool = False

    def as_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class QuotaOutcome:
    "What a quota change did to one project"
    project_id: str
    result: str
    requested: dict
    # What the cloud says now, for the requested keys it answers for.
    applied: dict = dataclasses.field(default_factory=dict)
    # key: (requested, what the cloud says)
    mismatches: dict = dataclasses.field(default_factory=dict)
    # key: why it was not applied (no block storage API in the catalog)
    skipped: dict = dataclasses.field(default_factory=dict)
    error: str | None = None
    request_id: str | None = None
    global_request_id: str | None = None

    def as_dict(self):
        return dataclasses.asdict(self)


class RemoteError(Exception):
    "A call failed; result says whether trying again later is sensible"

    def __init__(self, result, message, request_id=None, status_code=None,
            connection=False):
        message = redaction.redact(message)
        super().__init__(message)
        self.result = result
        self.message = message
        self.request_id = request_id
        self.status_code = status_code
        # The connection itself failed (cannot reach or authenticate): the
        # next calls on it would fail the same way.
        self.connection = connection


# ---------------------------------------------------------------------------
# Connection

def connect(cloud, region=None, clouds_yaml=None,
        connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
        connect_retries=CONNECT_RETRIES):
    """An openstacksdk Connection for the clouds.yaml entry ``cloud``

    ``clouds_yaml``: the clouds.yaml file; its ``secure.yaml`` (secrets) is
    read from the same folder; the environment (``OS_*``) is then ignored.
    Without it, openstacksdk's own search applies (``OS_CLIENT_CONFIG_FILE``,
    ``./clouds.yaml``, ``~/.config/openstack``, ``/etc/openstack``).
    Every HTTP call (Keystone included) is bounded by the connect and read
    timeouts; keystoneauth retries a failed connection connect_retries
    times (it reports a read timeout as a connect timeout: the actions
    re-read the server before acting, so a repeated request is harmless).
    """
    try:
        config = load_config(clouds_yaml)
        region_config = config.get_one(
            cloud=cloud, region_name=region or None,
            connect_retries=connect_retries)
        conn = openstack.connection.Connection(config=region_config)
        # keystoneauth passes the session timeout to requests, which takes
        # (connect, read).
        conn.session.timeout = (connect_timeout, read_timeout)
    except (os_exceptions.SDKException, ks_exceptions.ClientException) as e:
        raise RemoteError(FAILED, str(e), connection=True) from e
    track_request_ids(conn)
    return conn


# Keys whose values are secrets wherever they appear in the configuration.
SECRET_KEY = re.compile(
    r'pass|secret|token|credential|key$|totp|passcode', re.IGNORECASE)
# Secrets openstacksdk takes from the environment without a clouds_yaml.
SECRET_ENVIRON = re.compile(
    r'^OS_.*(PASS|SECRET|TOKEN|CREDENTIAL|KEY$|TOTP|PASSCODE)', re.IGNORECASE)
_USERINFO = re.compile(r'://([^\s/@?#]+)@')
_LINE = re.compile(
    r'^\s*(?:-\s+)?(?:["\']?([\w.-]+)["\']?\s*:)?\s*(.*?)\s*$')


class ConfigError(Exception):
    "A configuration file that cannot be read; never carries its content"


def config_files(clouds_yaml=None):
    """The (clouds.yaml, secure.yaml) paths openstacksdk would read

    With clouds_yaml, secure.yaml is the one beside it; without, the first
    file that exists along openstacksdk's search (either may be None).
    """
    if clouds_yaml:
        secure = os.path.join(
            os.path.dirname(os.path.abspath(clouds_yaml)), 'secure.yaml')
        return clouds_yaml, secure
    candidates = list(loader.CONFIG_FILES)
    override = os.environ.get('OS_CLIENT_CONFIG_FILE')
    if override:
        candidates.insert(0, override)

    def first(paths):
        return next((p for p in paths if os.path.exists(p)), None)
    return first(candidates), first(loader.SECURE_FILES)


def _userinfo_secrets(text):
    for userinfo in _USERINFO.findall(text):
        yield userinfo
        yield userinfo.partition(':')[2]


def text_secrets(text, everything=False):
    """The values of a configuration text that may be secrets, line by line

    For a file that cannot be parsed (e.g. a broken secure.yaml): every
    value when everything, else the values of secret keys, with and without
    their quotes; and the user info of URLs.
    """
    for line in text.splitlines():
        if line.lstrip().startswith('#') or line.strip() in {'---', '...'}:
            continue
        match = _LINE.match(line)
        key, value = match.groups()
        if value and (everything or (key and SECRET_KEY.search(key))):
            yield value
            yield value.strip('"\'')
    yield from _userinfo_secrets(text)


def data_secrets(data, everything=False, key=''):
    "The secret values of parsed configuration data"
    if isinstance(data, dict):
        for name, value in data.items():
            yield from data_secrets(value, everything, str(name))
    elif isinstance(data, list):
        for value in data:
            yield from data_secrets(value, everything, key)
    elif data is not None and not isinstance(data, bool):
        value = str(data)
        if everything or SECRET_KEY.search(key):
            yield value
        yield from _userinfo_secrets(value)


def read_config_file(path, everything=False):
    """Parse a clouds.yaml or secure.yaml file and register its secrets

    The secrets are registered before parsing, from the text, so that even
    a file that does not parse cannot be quoted by anything that logs.
    Raises ConfigError naming the file (and the line for a YAML error),
    never its content.
    """
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            "The cloud configuration file %s cannot be read (%s)."
            % (path, getattr(e, 'strerror', None) or e.__class__.__name__)
            ) from None
    redaction.register(text_secrets(text, everything))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = (getattr(e, 'problem_mark', None)
            or getattr(e, 'context_mark', None))
        # No "from e": the YAML error quotes the file.
        raise ConfigError(
            "The cloud configuration file %s is not valid YAML "
            "(line %s); its content is not shown."
            % (path, mark.line + 1 if mark else '?')) from None
    redaction.register(data_secrets(data, everything))
    return data


def load_config(clouds_yaml=None):
    """openstacksdk's configuration, once the files were checked here

    openstacksdk itself logs a file it cannot parse with the parser's
    message, which may quote a password: the files are parsed here first
    and a broken one stops the connection with RemoteError.
    """
    config_file, secure_file = config_files(clouds_yaml)
    try:
        for path, everything in [(config_file, False), (secure_file, True)]:
            if path:
                read_config_file(path, everything)
    except ConfigError as e:
        raise RemoteError(FAILED, str(e), connection=True) from None
    if clouds_yaml:
        return loader.OpenStackConfig(
            config_files=[config_file], secure_files=[secure_file],
            load_envvars=False)
    redaction.register(value for name, value in os.environ.items()
        if SECRET_ENVIRON.match(name))
    return loader.OpenStackConfig()


# Connection factories by name: connect(cloud, region=None, **options).
# The ERP picks one by the context key ``cloud_billing_connection`` (default
# ``openstacksdk``); only code can register one (tests register a double).
CONNECTION_FACTORIES = {'openstacksdk': connect}


def register_connection_factory(name, factory):
    CONNECTION_FACTORIES[name] = factory


class _RequestIds:
    "A requests response hook keeping Nova's id of the last response"

    def __init__(self):
        self.last = None

    def __call__(self, response, *args, **kwargs):
        headers = response.headers
        self.last = (headers.get('x-openstack-request-id')
            or headers.get('x-compute-request-id') or self.last)
        return response


def track_request_ids(conn):
    "Remember the request id of every response of conn"
    tracker = getattr(conn, '_cloud_billing_request_ids', None)
    if tracker is None:
        tracker = _RequestIds()
        conn.session.session.hooks.setdefault('response', []).append(tracker)
        conn._cloud_billing_request_ids = tracker
    return tracker


def new_global_request_id():
    return 'req-%s' % uuid.uuid4()


def _error(exc):
    "The RemoteError of an exception raised by the SDK or keystoneauth"
    if isinstance(exc, RemoteError):
        return exc
    message = getattr(exc, 'details', None) or str(exc) or repr(exc)
    request_id = getattr(exc, 'request_id', None)
    status_code = getattr(exc, 'status_code', None)
    if isinstance(exc, os_exceptions.ResourceTimeout):
        return RemoteError(RETRY, message)
    if isinstance(exc, (ks_exceptions.ConnectTimeout,
                ks_exceptions.ConnectFailure,
                ks_exceptions.UnknownConnectionError)):
        # keystoneauth reports read timeouts as ConnectTimeout too.
        return RemoteError(RETRY, message, connection=True)
    if isinstance(exc, ks_exceptions.HttpError) and not isinstance(
            exc, os_exceptions.HttpException):
        # Raised by keystoneauth itself: authentication, catalog.
        status_code = exc.http_status
        request_id = exc.request_id
        if status_code in {401, 403}:
            return RemoteError(FAILED, message, request_id, status_code,
                connection=True)
    elif isinstance(exc, ks_exceptions.ClientException):
        # Configuration, SSL, missing endpoint
        return RemoteError(FAILED, message, connection=True)
    if status_code in {409, 429} or (status_code and status_code >= 500):
        return RemoteError(RETRY, message, request_id, status_code)
    return RemoteError(FAILED, message, request_id, status_code)


def _call(conn, function, *args, **kwargs):
    "Call function; raise RemoteError for anything from the SDK"
    tracker = track_request_ids(conn)
    tracker.last = None
    try:
        result = function(*args, **kwargs)
    except (os_exceptions.SDKException, ks_exceptions.ClientException) as e:
        raise _error(e) from e
    return result, tracker.last


def _set_global_request_id(conn, global_request_id):
    conn.set_global_request_id(global_request_id)


# ---------------------------------------------------------------------------
# Servers

def _flavor_name(server):
    flavor = server.flavor
    if flavor is None:
        return None
    for attribute in ['name', 'original_name', 'id']:
        value = getattr(flavor, attribute, None)
        if value:
            return value
    return None


def list_servers(conn, project_id):
    """The servers of project_id, as Server

    With a connection scoped to another project (the billing account), Nova
    is asked for the servers of project_id across projects (admin); only
    servers whose project is project_id are returned.
    Raises RemoteError.
    """
    current, _ = _call(conn, lambda: conn.current_project_id)
    query = {}
    if current != project_id:
        query.update(all_projects=True, project_id=project_id)
    servers, _ = _call(
        conn, lambda: list(conn.compute.servers(details=True, **query)))
    return [_as_server(s) for s in servers if s.project_id == project_id]


def _as_server(s):
    return Server(
        id=s.id, name=s.name, project_id=s.project_id, status=s.status,
        flavor=_flavor_name(s), task_state=s.task_state)


def confirm_missing(conn, server_ids, project_id):
    """Read one by one the servers of project_id its listing left out

    A listing may come back short (an empty page, a cell that did not
    answer): a server is gone only when its own read says so. Returns
    (gone, present): gone, the ids Nova answers 404 for, lists as deleted
    or now places in another project; present, {id: Server} still in the
    project (a SOFT_DELETED server is present: it can be restored). A
    server whose read fails is in neither (unknown: left as recorded).
    Raises RemoteError when the connection itself fails.
    """
    gone, present = set(), {}
    for server_id in server_ids:
        try:
            server = _get_server(conn, server_id)
        except RemoteError as e:
            if e.status_code == 404:
                gone.add(server_id)
            elif e.connection:
                raise
            continue
        if (server.project_id != project_id
                or server.status in GONE_STATUSES):
            gone.add(server_id)
        else:
            present[server_id] = _as_server(server)
    return gone, present


def _get_server(conn, server_id):
    server, _ = _call(conn, lambda: conn.compute.get_server(server_id))
    return server


def _act(conn, server_ids, project_id, action, decide, call, not_found,
        wait, targets, interval, before=None):
    """Run one action on every server and return their ServerOutcome

    decide(server) returns None to act, or (result, error) to stop there.
    not_found: the result of a 404.
    targets: the statuses to wait for when wait (seconds) is given.
    before(server_id), when given, is asked before each server: a text
    stops the action there (this server and the next ones are not tried,
    result retry, the text as error).
    """
    outcomes = []
    broken = None   # RemoteError of a failed connection
    stopped = None  # why before() stopped the action
    for server_id in server_ids:
        outcome = ServerOutcome(
            server_id=server_id, action=action, result=FAILED,
            global_request_id=new_global_request_id())
        outcomes.append(outcome)
        if broken is None and stopped is None and before is not None:
            stopped = before(server_id)
        if stopped is not None:
            outcome.result = RETRY
            outcome.error = "Not tried: %s" % stopped
            outcome.global_request_id = None
            continue
        if broken is not None:
            outcome.result = broken.result
            outcome.error = "Not tried: %s" % broken.message
            outcome.global_request_id = None
            continue
        try:
            _set_global_request_id(conn, outcome.global_request_id)
            _act_one(conn, outcome, project_id, decide, call, not_found)
        except RemoteError as e:
            if e.connection:
                broken = e
            outcome.result = e.result
            outcome.error = e.message
            outcome.request_id = e.request_id or outcome.request_id
    _set_global_request_id(conn, None)
    if wait:
        _wait(conn, [o for o in outcomes if o.result == DONE], targets,
            not_found, wait, interval)
    return outcomes


def _refused_foreign(outcome, server, project_id):
    """Record server's status on outcome; refuse it (and answer True) when
    it is not of project_id"""
    outcome.status = server.status
    if project_id and server.project_id != project_id:
        outcome.result = FAILED
        outcome.error = (
            "Refused: server %s belongs to project %s, not to %s."
            % (server.id, server.project_id, project_id))
        return True
    return False


def _act_one(conn, outcome, project_id, decide, call, not_found):
    try:
        server = _get_server(conn, outcome.server_id)
    except RemoteError as e:
        if e.status_code == 404:
            outcome.result, outcome.status = not_found, 'DELETED'
            outcome.request_id = e.request_id
            if not_found != DONE:
                outcome.error = e.message
            return
        raise
    if _refused_foreign(outcome, server, project_id):
        return
    decision = decide(server)
    if decision is not None:
        outcome.result, outcome.error = decision
        return
    try:
        outcome.sent = True
        _, outcome.request_id = _call(conn, call, server.id)
    except RemoteError as e:
        outcome.request_id = e.request_id
        if e.status_code is not None and 400 <= e.status_code < 500:
            # Nova refused the request: nothing was done. (After a timeout,
            # a lost connection or a 5xx, it may have been.)
            outcome.sent = False
        if e.status_code == 404:
            outcome.result, outcome.status = not_found, 'DELETED'
            outcome.error = e.message if not_found != DONE else None
            return
        if e.status_code == 409:
            # A task in progress, locked, or it got there meanwhile.
            server = _get_server(conn, outcome.server_id)
            outcome.status = server.status
            decision = decide(server)
            if decision is None or decision[0] == GONE:
                decision = RETRY, e.message
            outcome.result, outcome.error = decision
            return
        raise
    outcome.result = DONE


def _wait(conn, outcomes, targets, not_found, wait, interval):
    "Poll the servers of outcomes until they reach targets or wait ends"
    deadline = time.monotonic() + wait
    pending = list(outcomes)
    while pending:
        for outcome in list(pending):
            try:
                server = _get_server(conn, outcome.server_id)
            except RemoteError as e:
                if e.status_code == 404:
                    outcome.status = 'DELETED'
                    if not_found != DONE:
                        outcome.result, outcome.error = not_found, e.message
                    pending.remove(outcome)
                    continue
                if e.result == RETRY:
                    continue
                outcome.result, outcome.error = e.result, e.message
                pending.remove(outcome)
                continue
            outcome.status = server.status
            if server.status in targets and not server.task_state:
                pending.remove(outcome)
            elif server.status == 'ERROR':
                outcome.result = FAILED
                outcome.error = "The server went into ERROR."
                pending.remove(outcome)
        if not pending:
            break
        if time.monotonic() >= deadline:
            for outcome in pending:
                outcome.result = RETRY
                outcome.error = (
                    "Still %s after %s s, not yet %s."
                    % (outcome.status, wait, '/'.join(sorted(targets))))
            break
        time.sleep(max(0, min(interval, deadline - time.monotonic())))


def _decide_shelve(server):
    if server.status in SHELVED:
        return ALREADY, None
    if server.status == 'ERROR':
        return FAILED, "The server is in ERROR."
    if server.task_state:
        return RETRY, "A task is in progress: %s." % server.task_state
    if server.status in SHELVABLE:
        return None
    if server.status in DELETED:
        return GONE, "The server is %s." % server.status
    if server.status in {'BUILD', 'REBOOT', 'HARD_REBOOT', 'RESIZE',
            'REVERT_RESIZE', 'MIGRATING', 'REBUILD', 'PASSWORD'}:
        return RETRY, "The server is in transition: %s." % server.status
    return FAILED, "A %s server cannot be shelved." % server.status


def _decide_running_again(server, statuses):
    """Back to ACTIVE from one of statuses (unshelve, restore): already,
    an error, a task to wait for, or None to act"""
    if server.status == 'ACTIVE' and not server.task_state:
        return ALREADY, None
    if server.status == 'ERROR':
        return FAILED, "The server is in ERROR."
    if server.task_state:
        return RETRY, "A task is in progress: %s." % server.task_state
    if server.status in statuses:
        return None
    return False


def _decide_unshelve(server):
    decision = _decide_running_again(server, SHELVED)
    if decision is not False:
        return decision
    if server.status in DELETED:
        return GONE, "The server is %s." % server.status
    return FAILED, "A %s server is not shelved." % server.status


def _decide_delete(server):
    if server.status in DELETED:
        return ALREADY, None
    return None


def _decide_restore(server):
    decision = _decide_running_again(server, RESTORABLE)
    if decision is not False:
        return decision
    if server.status in GONE_STATUSES:
        return GONE, "The server is %s." % server.status
    return FAILED, "A %s server is not soft-deleted." % server.status


def shelve(conn, server_ids, project_id, wait=None,
        interval=POLL_INTERVAL, target=SHELVED_OFFLOADED):
    """Shelve every server of server_ids (recorded servers of project_id)

    ACTIVE, SHUTOFF, PAUSED and SUSPENDED servers are shelved; SHELVED and
    SHELVED_OFFLOADED ones are already done; a task in progress or a lock
    (409) is retried later; ERROR fails. With wait (seconds), waits until the
    servers reach a status of target (SHELVED_OFFLOADED by default; SHELVED
    too for a cloud that never offloads) and reports retry for those that
    did not in time.
    Servers of another project than project_id are refused.
    """
    def call(server_id):
        return conn.compute.shelve_server(server_id)
    return _act(conn, server_ids, project_id, 'shelve', _decide_shelve,
        call, GONE, wait, frozenset(target),
        interval)


def unshelve(conn, server_ids, project_id, wait=None,
        interval=POLL_INTERVAL):
    """Unshelve every server of server_ids (those billing shelved)

    With wait (seconds), waits until they are ACTIVE.
    """
    def call(server_id):
        return conn.compute.unshelve_server(server_id)
    active = frozenset({'ACTIVE'})
    return _act(conn, server_ids, project_id, 'unshelve', _decide_unshelve,
        call, GONE, wait, active, interval)


def delete(conn, server_ids, project_id, wait=None,
        interval=POLL_INTERVAL, before=None):
    """Delete every server of server_ids after checking its project

    project_id is required: a server of another project is refused,
    reported and never deleted. A server Nova does not know (404) counts as
    done. With wait (seconds), waits until Nova no longer knows them.
    before(server_id) is asked before each server (see _act): the caller
    re-checks there that the deletion is still due.
    """
    if not project_id:
        raise ValueError("delete needs the expected project")

    def call(server_id):
        return conn.compute.delete_server(server_id, ignore_missing=False)
    return _act(conn, server_ids, project_id, 'delete', _decide_delete,
        call, DONE, wait, DELETED, interval, before=before)


# What read_state asks of each action: (decide, result of a 404, target)
_READ = {
    'shelve': (_decide_shelve, GONE, 'SHELVED/SHELVED_OFFLOADED'),
    'unshelve': (_decide_unshelve, GONE, 'ACTIVE'),
    'delete': (_decide_delete, DONE, 'DELETED'),
    }


def read_state(conn, server_ids, project_id, action):
    """Where each server is for action, read again; nothing is sent

    For an attempt whose outcome was lost (the worker died during the
    wait): a ServerOutcome per server whose result says what the action
    would find now. ``already`` (``done`` for a deleted server): it is
    where the action leads; ``gone`` for a shelve or unshelve of a server
    Nova no longer knows; ``retry``: not there yet (the action must run
    again, a task in progress, a read that failed); ``failed``: ERROR, or
    a server of another project. Raises nothing.
    """
    decide, not_found, target = _READ[action]
    outcomes = []
    broken = None
    for server_id in server_ids:
        outcome = ServerOutcome(
            server_id=server_id, action=action, result=RETRY)
        outcomes.append(outcome)
        if broken is not None:
            outcome.error = "Not read: %s" % broken.message
            continue
        try:
            server = _get_server(conn, server_id)
        except RemoteError as e:
            outcome.request_id = e.request_id
            if e.status_code == 404:
                outcome.result, outcome.status = not_found, 'DELETED'
                outcome.error = e.message if not_found != DONE else None
                continue
            if e.connection:
                broken = e
            # Unknown: the action runs again, which decides.
            outcome.error = e.message
            continue
        if _refused_foreign(outcome, server, project_id):
            continue
        decision = decide(server)
        if decision is None:
            outcome.result = RETRY
            outcome.error = "Still %s, not yet %s." % (server.status, target)
        else:
            outcome.result, outcome.error = decision
            if action == 'delete' and outcome.result == ALREADY:
                outcome.status = 'DELETED'
    return outcomes


def restore(conn, server_ids, project_id, wait=None,
        interval=POLL_INTERVAL):
    """Restore every SOFT_DELETED server of server_ids (Nova ``restore``)

    Only a cloud with a reclaim interval keeps deleted servers; once Nova
    reclaimed one (404 or DELETED) it is gone. ACTIVE servers are already
    done. project_id is required, as for delete. With wait (seconds), waits
    until they are ACTIVE.
    """
    if not project_id:
        raise ValueError("restore needs the expected project")

    def call(server_id):
        return conn.compute.restore_server(server_id)
    return _act(conn, server_ids, project_id, 'restore', _decide_restore,
        call, GONE, wait, frozenset({'ACTIVE'}), interval)


def wait_for_status(conn, server_ids, status, wait, interval=POLL_INTERVAL):
    "Wait until every server is in status; ServerOutcome per server"
    outcomes = [ServerOutcome(
            server_id=i, action='wait', result=DONE) for i in server_ids]
    _wait(conn, outcomes, frozenset({status}), GONE, wait, interval)
    return outcomes


# ---------------------------------------------------------------------------
# Quotas

def _quota_values(quota_set, keys):
    values = {}
    for key in keys:
        value = getattr(quota_set, key, None)
        if value is not None:
            values[key] = int(value)
    return values


def get_quota(conn, project_id, keys=COMPUTE_QUOTA_KEYS):
    """The quota of project_id for keys: {key: limit}

    Block storage keys are left out when the cloud has no block storage API.
    Raises RemoteError.
    """
    compute = [k for k in keys if k in COMPUTE_QUOTA_KEYS]
    block = [k for k in keys if k in BLOCK_STORAGE_QUOTA_KEYS]
    values = {}
    if compute:
        quota_set, _ = _call(
            conn, lambda: conn.compute.get_quota_set(project_id))
        values.update(_quota_values(quota_set, compute))
    if block and _block_storage(conn):
        quota_set, _ = _call(
            conn, lambda: conn.block_storage.get_quota_set(project_id))
        values.update(_quota_values(quota_set, block))
    return values


def _block_storage(conn):
    "Whether the cloud has a block storage API in its catalog"
    try:
        return bool(conn.has_service('block-storage'))
    except (os_exceptions.SDKException, ks_exceptions.ClientException):
        return False


def quota_change(conn, project_id, quota):
    """Set the quota of project_id to quota ({key: limit}) and read it back

    Never forced: Nova refuses a limit below the current usage. The quota is
    read back after the update; a value that differs from the request is a
    failure. Block storage keys are skipped (reported in skipped) when the
    cloud has no block storage API. Returns a QuotaOutcome.
    """
    unknown = set(quota) - set(QUOTA_KEYS)
    if unknown:
        raise ValueError("unknown quota keys: %s" % ', '.join(sorted(unknown)))
    requested = {k: int(v) for k, v in quota.items()}
    outcome = QuotaOutcome(
        project_id=project_id, result=FAILED, requested=requested,
        global_request_id=new_global_request_id())
    compute = {k: v for k, v in requested.items() if k in COMPUTE_QUOTA_KEYS}
    block = {k: v for k, v in requested.items()
        if k in BLOCK_STORAGE_QUOTA_KEYS}
    changed = False
    try:
        _set_global_request_id(conn, outcome.global_request_id)
        if block and not _block_storage(conn):
            for key in block:
                outcome.skipped[key] = "no block storage API"
            block = {}
        for service, values in [
                ('compute', compute), ('block_storage', block)]:
            if not values:
                continue

            def get(service=service):
                return getattr(conn, service).get_quota_set(project_id)

            def update(service=service, values=values):
                # Never with force: Nova must refuse a limit below usage.
                return getattr(conn, service).update_quota_set(
                    project_id, **values)
            current, _ = _call(conn, get)
            if _quota_values(current, values) == values:
                outcome.applied.update(values)
                continue
            _, outcome.request_id = _call(conn, update)
            changed = True
            after, _ = _call(conn, get)
            read = _quota_values(after, values)
            outcome.applied.update(read)
            for key, value in values.items():
                if read.get(key) != value:
                    outcome.mismatches[key] = (value, read.get(key))
    except RemoteError as e:
        outcome.result = e.result
        outcome.error = e.message
        outcome.request_id = e.request_id or outcome.request_id
        return outcome
    finally:
        _set_global_request_id(conn, None)
    if outcome.mismatches:
        outcome.result = FAILED
        outcome.error = "The cloud did not apply: %s." % ', '.join(
            '%s=%s (asked %s)' % (k, r, v)
            for k, (v, r) in sorted(outcome.mismatches.items()))
    elif changed:
        outcome.result = DONE
    else:
        outcome.result = ALREADY
    return outcome
