#!/usr/bin/env python3
"""A real OpenStack test cloud on 127.0.0.1, for end-to-end tests.

    python tests/openstack/cloud.py up       # install if needed, start, bootstrap
    python tests/openstack/cloud.py status   # what runs, what answers
    python tests/openstack/cloud.py logs     # tail of every service log (-f to follow)
    python tests/openstack/cloud.py down     # stop every process, verify none is left

Keystone, Placement, Glance (file store), Nova API/conductor/scheduler/compute
(fake driver), a Neutron stand-in, and private MariaDB/RabbitMQ/epmd
instances.  Everything listens on 127.0.0.1 only and every process is
started by this script, recorded in a pid file and stopped by ``down``.
See tests/openstack/README.md.

The orchestration itself only needs the standard library: ``up`` builds the
pinned virtualenv (``.venv-openstack/``) when needed and re-executes itself
with that virtualenv's interpreter, which has PyMySQL and openstacksdk.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CONSTRAINTS = HERE / "constraints.txt"


def _env_path(name, default):
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


def _env_int(name, default):
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        sys.exit(f"cloud.py: {name}={value!r} is not an integer")


VENV = _env_path("OSCLOUD_VENV", ROOT / ".venv-openstack")
STATE = _env_path("OSCLOUD_DIR", ROOT / ".openstack-cloud")
LOGS = STATE / "logs"
RUN = STATE / "run"          # pid files, sockets
ETC = STATE / "etc"          # generated configuration
DATA = STATE / "data"        # databases, image store, nova state
CLOUD_JSON = STATE / "cloud.json"
CLOUDS_YAML = STATE / "clouds.yaml"
ORCHESTRATOR_PID = RUN / "up.pid"   # a running ``up`` (not a service)
# Every process we start carries this variable and is a session leader:
# ``down`` finds leftovers by session and, where readable, by this tag.
TAG_VAR = "OSCLOUD_TAG"
TAG = str(STATE)

HOST = "127.0.0.1"
REGION = "RegionOne"
# Nova's reclaim_instance_interval (seconds): a deleted server stays
# SOFT_DELETED, restorable, this long before the compute's periodic task
# reclaims it (the task runs every interval, so within two). Positive: the
# tests prove the restore after a billing deletion.
RECLAIM_SECONDS = _env_int("OSCLOUD_RECLAIM_SECONDS", 3600)
PORTS = {
    "keystone": _env_int("OSCLOUD_KEYSTONE_PORT", 5000),
    "placement": _env_int("OSCLOUD_PLACEMENT_PORT", 8778),
    "glance": _env_int("OSCLOUD_GLANCE_PORT", 9292),
    "nova-api": _env_int("OSCLOUD_NOVA_PORT", 8774),
    "neutron": _env_int("OSCLOUD_NEUTRON_PORT", 9696),
    "mariadb": _env_int("OSCLOUD_MARIADB_PORT", 13306),
    "rabbitmq": _env_int("OSCLOUD_RABBITMQ_PORT", 15682),
    "rabbitmq-dist": _env_int("OSCLOUD_RABBITMQ_DIST_PORT", 25682),
    "epmd": _env_int("OSCLOUD_EPMD_PORT", 14369),
}
PORT_VARS = {
    "keystone": "OSCLOUD_KEYSTONE_PORT", "placement": "OSCLOUD_PLACEMENT_PORT",
    "glance": "OSCLOUD_GLANCE_PORT", "nova-api": "OSCLOUD_NOVA_PORT",
    "neutron": "OSCLOUD_NEUTRON_PORT", "mariadb": "OSCLOUD_MARIADB_PORT",
    "rabbitmq": "OSCLOUD_RABBITMQ_PORT",
    "rabbitmq-dist": "OSCLOUD_RABBITMQ_DIST_PORT", "epmd": "OSCLOUD_EPMD_PORT",
}
AUTH_URL = f"http://{HOST}:{PORTS['keystone']}/v3"
STOP_TIMEOUT = float(os.environ.get("OSCLOUD_STOP_TIMEOUT", "10"))
# Every readiness and setup timeout is multiplied by this: a loaded machine
# (tests run niced beside a long fuzz) starts the cloud several times slower.
WAIT_SCALE = float(os.environ.get("OSCLOUD_WAIT_SCALE", "1"))

# Test-only credentials: everything listens on 127.0.0.1 and lives for one run.
DB_USER, DB_PASSWORD = "openstack", "openstack-db-secret"
RABBIT_USER, RABBIT_PASSWORD = "guest", "guest"   # guest is loopback-only
ADMIN_PASSWORD = "admin-secret"
SERVICE_PASSWORD = "service-secret"
CUSTOMERS = ("customer-a", "customer-b")
FLAVOR = {"name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1}
IMAGE_NAME = "tiny-raw"
IMAGE_SIZE = 1024 * 1024
COMPUTE_HOST = "oscloud-compute-1"

# Service processes, in the order ``down`` stops them (infrastructure last).
SERVICES = ["nova-compute", "nova-scheduler", "nova-conductor", "nova-api",
            "glance", "placement", "keystone", "neutron",
            "rabbitmq", "mariadb", "epmd"]
INFRA = {"rabbitmq", "mariadb", "epmd"}
HTTP_SERVICES = {"keystone": "/v3", "placement": "/", "glance": "/",
                 "nova-api": "/", "neutron": "/"}

_print_lock = threading.Lock()
_T0 = time.monotonic()


def say(msg):
    with _print_lock:
        print(f"[cloud {time.monotonic() - _T0:6.1f}s] {msg}", flush=True)


class CloudError(Exception):
    def __init__(self, msg, log=None):
        super().__init__(msg)
        self.log = Path(log) if log else None


def tail(path, lines=40):
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            data = fh.read().decode("utf-8", "replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(data[-lines:])


# --------------------------------------------------------------------------
# processes

def _stat(pid):
    """(state, session id, start time) of a process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[3]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid):
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _has_tag(pid):
    # Note: gunicorn and oslo.service rewrite their process title over the
    # environment block, so the tag is not always readable; sessions below
    # catch those.
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = fh.read().split(b"\0")
    except OSError:
        return False
    return f"{TAG_VAR}={TAG}".encode() in env


def _pidfiles():
    """{name: (pid, start time)} from run/*.pid, alive or not."""
    out = {}
    if RUN.is_dir():
        for f in RUN.glob("*.pid"):
            if f.stem not in SERVICES:
                continue
            try:
                pid, start = map(int, f.read_text().split()[:2])
            except ValueError:
                continue
            out[f.stem] = (pid, start)
    return out


def running_pids():
    """{name: pid} of recorded service processes that still run."""
    out = {}
    for name, (pid, start) in _pidfiles().items():
        st = _stat(pid)
        if st and st[0] not in ("Z", "X") and st[2] == start:
            out[name] = pid
    return out


def our_pids():
    """Every live process of this cloud: the recorded services, everything
    in their sessions (workers, helpers) and anything carrying the tag."""
    sessions = {pid: start for pid, start in _pidfiles().values()}
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        st = _stat(pid)
        if st is None or st[0] in ("Z", "X"):
            continue
        if (st[1] in sessions and st[2] >= sessions[st[1]]) or _has_tag(pid):
            found.append(pid)
    return sorted(found)


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


def child_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "PYTHON", "VIRTUAL_ENV", "RABBITMQ_",
                                "ERL_"))}
    env.update({
        TAG_VAR: TAG,
        "PATH": f"{VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}:/usr/sbin:/sbin",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
        "LC_ALL": "C.UTF-8",
    })
    if extra:
        env.update(extra)
    return env


# Set when ``up`` fails: no step may start anything after that.
ABORT = threading.Event()
STARTED = threading.Event()     # the state dir belongs to this run
_SPAWN_LOCK = threading.Lock()


def _popen(argv, **kw):
    with _SPAWN_LOCK:
        if ABORT.is_set():
            raise CloudError("aborted: start-up failed elsewhere")
        return subprocess.Popen([str(a) for a in argv],
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                start_new_session=True, **kw)


def abort():
    with _SPAWN_LOCK:
        ABORT.set()


class Procs:
    """Long-running service processes started by ``up``."""

    def __init__(self):
        self.procs = {}

    def spawn(self, name, argv, env=None, cwd=None):
        log = LOGS / f"{name}.log"
        with open(log, "ab") as out:
            proc = _popen(argv, stdout=out, env=child_env(env),
                          cwd=str(cwd or STATE))
            st = _stat(proc.pid)
            (RUN / f"{name}.pid").write_text(
                f"{proc.pid} {st[2] if st else 0}\n")
        self.procs[name] = proc
        return proc


PROCS = Procs()


def run(name, argv, env=None, timeout=300):
    """Run a one-shot setup command; its output goes to logs/setup-<name>.log."""
    log = LOGS / f"setup-{name}.log"
    t = time.monotonic()
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(map(str, argv))}\n".encode())
        out.flush()
        proc = _popen(argv, stdout=out, env=child_env(env), cwd=str(STATE))
        timeout *= WAIT_SCALE
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if ABORT.is_set() or time.monotonic() > deadline:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
                if ABORT.is_set():
                    raise CloudError(f"{name}: aborted")
                raise CloudError(f"{name}: timed out after {timeout}s", log)
            time.sleep(0.05)
        rc = proc.returncode
    if rc != 0:
        raise CloudError(f"{name}: exit code {rc}", log)
    say(f"{name} done ({time.monotonic() - t:.1f}s)")


def wait_for(what, check, timeout, proc=None, log=None, interval=0.25):
    timeout *= WAIT_SCALE
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - readiness probe
            last = exc
        if ABORT.is_set():
            raise CloudError(f"{what}: aborted")
        if proc is not None and proc.poll() is not None:
            raise CloudError(f"{what}: process exited with code "
                             f"{proc.returncode} before it was ready", log)
        if time.monotonic() > deadline:
            raise CloudError(f"{what}: not ready after {timeout:.0f}s"
                             + (f" (last error: {last})" if last else ""), log)
        time.sleep(interval)


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url, timeout=2.0):
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return not port_open(port)


def who_listens(port):
    try:
        out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return " ".join(out.split())


# --------------------------------------------------------------------------
# installation

def venv_python():
    return VENV / "bin" / "python"


def constraints_hash():
    h = hashlib.sha256(CONSTRAINTS.read_bytes())
    return h.hexdigest()


def ensure_venv():
    stamp = VENV / ".constraints-sha256"
    want = constraints_hash()
    if stamp.exists() and stamp.read_text().strip() == want \
            and venv_python().exists():
        return False
    base = os.environ.get("OSCLOUD_PYTHON") or shutil.which("python3.11")
    if not base:
        raise CloudError("python3.11 is not on PATH (set OSCLOUD_PYTHON)")
    t = time.monotonic()
    if VENV.exists():
        say(f"constraints changed or venv incomplete: rebuilding {VENV}")
        shutil.rmtree(VENV)
    say(f"creating {VENV} with {base} and installing {CONSTRAINTS.name} "
        "(takes ~1.5-2.5 min)")
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    log = VENV / "install.log"
    with open(log, "wb") as out:
        rc = subprocess.run(
            [str(venv_python()), "-m", "pip", "install",
             "--disable-pip-version-check", "-r", str(CONSTRAINTS)],
            stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise CloudError(f"pip install into {VENV} failed (exit {rc})", log)
    stamp.write_text(want + "\n")
    say(f"virtualenv ready ({time.monotonic() - t:.1f}s)")
    return True


MARIADBD = "/usr/sbin/mariadbd"
MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def ensure_system_packages():
    missing = [pkg for pkg, binaries in (
        ("mariadb-server", (MARIADBD, MARIADB_INSTALL_DB)),
        ("rabbitmq-server", (RABBITMQ_SERVER,)))
        if not all(os.access(b, os.X_OK) for b in binaries)]
    if not missing and shutil.which("epmd"):
        return
    if not missing:
        missing = ["rabbitmq-server"]
    if os.geteuid() != 0:
        raise CloudError(f"missing Debian packages {missing}; install them "
                         "(apt-get install ...) or run as root")
    t = time.monotonic()
    say(f"installing Debian packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log = Path(tempfile.gettempdir()) / f"oscloud-apt-{os.getpid()}.log"
    with open(log, "wb") as out:
        for argv in (["apt-get", "update"],
                     ["apt-get", "install", "-y", "--no-install-recommends",
                      *missing]):
            if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                              env=env).returncode != 0:
                raise CloudError(f"{' '.join(argv)} failed", log)
    say(f"Debian packages installed ({time.monotonic() - t:.1f}s)")


# --------------------------------------------------------------------------
# configuration files

def db_url(name):
    return (f"mysql+pymysql://{DB_USER}:{DB_PASSWORD}@{HOST}:"
            f"{PORTS['mariadb']}/{name}?charset=utf8")


def ini(sections):
    out = []
    for section, values in sections.items():
        out.append(f"[{section}]")
        out.extend(f"{k} = {v}" for k, v in values.items())
        out.append("")
    return "\n".join(out)


def authtoken(user):
    return {
        "www_authenticate_uri": f"http://{HOST}:{PORTS['keystone']}/",
        "auth_url": f"http://{HOST}:{PORTS['keystone']}/",
        "auth_type": "password",
        "project_domain_name": "Default", "user_domain_name": "Default",
        "project_name": "service", "username": user,
        "password": SERVICE_PASSWORD, "region_name": REGION,
        "service_token_roles_required": "true",
    }


def service_auth(user, **extra):
    values = {
        "auth_type": "password", "auth_url": f"http://{HOST}:{PORTS['keystone']}/v3",
        "project_domain_name": "Default", "user_domain_name": "Default",
        "project_name": "service", "username": user,
        "password": SERVICE_PASSWORD, "region_name": REGION,
    }
    values.update(extra)
    return values


def write_configs():
    for d in ("keystone", "placement", "glance", "nova", "rabbitmq"):
        (ETC / d).mkdir(parents=True, exist_ok=True)
    for d in ("mariadb", "rabbitmq/mnesia", "rabbitmq/home", "glance/images",
              "glance/staging", "glance/tasks", "nova/state",
              "nova/instances", "nova/lock", "keystone/fernet-keys",
              "keystone/credential-keys", "placement/lock"):
        (DATA / d).mkdir(parents=True, exist_ok=True)
    common_log = {"use_stderr": "true", "debug": "false"}

    (ETC / "keystone/keystone.conf").write_text(ini({
        "DEFAULT": dict(common_log),
        "database": {"connection": db_url("keystone")},
        "token": {"provider": "fernet"},
        "fernet_tokens": {"key_repository": DATA / "keystone/fernet-keys"},
        "fernet_receipts": {"key_repository": DATA / "keystone/fernet-keys"},
        "credential": {"key_repository": DATA / "keystone/credential-keys"},
        "identity": {"password_hash_rounds": 4},
        "cache": {"enabled": "false"},
    }))

    (ETC / "placement/placement.conf").write_text(ini({
        "DEFAULT": dict(common_log),
        "placement_database": {"connection": db_url("placement")},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": authtoken("placement"),
        "oslo_concurrency": {"lock_path": DATA / "placement/lock"},
    }))

    venv_etc = VENV / "etc"
    shutil.copy(venv_etc / "glance/glance-api-paste.ini",
                ETC / "glance/glance-api-paste.ini")
    (ETC / "glance/glance-api.conf").write_text(ini({
        "DEFAULT": dict(common_log, **{
            "enabled_backends": "fs:file",
            "worker_self_reference_url": f"http://{HOST}:{PORTS['glance']}",
            "image_cache_dir": DATA / "glance/cache",
        }),
        "database": {"connection": db_url("glance")},
        "glance_store": {"default_backend": "fs"},
        "fs": {"filesystem_store_datadir": DATA / "glance/images"},
        "os_glance_staging_store": {
            "filesystem_store_datadir": DATA / "glance/staging"},
        "os_glance_tasks_store": {
            "filesystem_store_datadir": DATA / "glance/tasks"},
        "keystone_authtoken": authtoken("glance"),
        "paste_deploy": {"flavor": "keystone",
                         "config_file": ETC / "glance/glance-api-paste.ini"},
        "oslo_concurrency": {"lock_path": DATA / "glance"},
    }))

    shutil.copy(venv_etc / "nova/api-paste.ini", ETC / "nova/api-paste.ini")
    nova = {
        "DEFAULT": dict(common_log, **{
            "host": COMPUTE_HOST,
            "my_ip": HOST,
            "transport_url": f"rabbit://{RABBIT_USER}:{RABBIT_PASSWORD}@"
                             f"{HOST}:{PORTS['rabbitmq']}/",
            "compute_driver": "fake.FakeDriver",
            "state_path": DATA / "nova/state",
            "instances_path": DATA / "nova/instances",
            "use_rootwrap_daemon": "false",
            # Read by the API and the compute alike.
            "reclaim_instance_interval": RECLAIM_SECONDS,
        }),
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": ETC / "nova/api-paste.ini"},
        "conductor": {"workers": 1},
        "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": -1},
        "keystone_authtoken": authtoken("nova"),
        "placement": service_auth("nova"),
        "glance": {"region_name": REGION},
        "neutron": service_auth(
            "nova", endpoint_override=f"http://{HOST}:{PORTS['neutron']}"),
        "oslo_concurrency": {"lock_path": DATA / "nova/lock"},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        "vnc": {"enabled": "false"},
        "spice": {"enabled": "false"},
    }
    (ETC / "nova/nova.conf").write_text(ini(nova))
    # nova-compute must not see database URLs: keep them in their own file.
    (ETC / "nova/nova-db.conf").write_text(ini({
        "api_database": {"connection": db_url("nova_api")},
        "database": {"connection": db_url("nova_cell1")},
    }))

    (ETC / "rabbitmq/rabbitmq-env.conf").write_text("# private instance: "
                                                   "settings come from env\n")
    (ETC / "rabbitmq/rabbitmq.conf").write_text(
        f"listeners.tcp.default = {HOST}:{PORTS['rabbitmq']}\n"
        "disk_free_limit.absolute = 50MB\n"
        "log.console = true\nlog.console.level = info\nlog.file = false\n")
    (ETC / "rabbitmq/enabled_plugins").write_text("[].\n")


# --------------------------------------------------------------------------
# start-up steps (each runs in a thread; dependencies via futures)

def mysql(database=None, user="root", password=""):
    import pymysql
    return pymysql.connect(host=HOST, port=PORTS["mariadb"], user=user,
                           password=password, database=database,
                           connect_timeout=3, autocommit=True)


def start_mariadb():
    datadir = DATA / "mariadb"
    run("mariadb-install-db", [
        MARIADB_INSTALL_DB, "--no-defaults", f"--datadir={datadir}",
        "--user=root", "--auth-root-authentication-method=normal",
        "--skip-test-db", "--skip-name-resolve"], timeout=120)
    log = LOGS / "mariadb.log"
    proc = PROCS.spawn("mariadb", [
        MARIADBD, "--no-defaults", f"--datadir={datadir}", "--user=root",
        f"--bind-address={HOST}", f"--port={PORTS['mariadb']}",
        f"--socket={RUN / 'mariadb.sock'}",
        f"--pid-file={RUN / 'mariadbd.pid'}", f"--log-error={log}",
        "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0",
        "--skip-innodb-doublewrite", "--performance-schema=OFF",
        "--innodb-buffer-pool-size=64M", "--max-connections=500",
        "--character-set-server=utf8", "--collation-server=utf8_general_ci",
        "--skip-log-bin"])

    def ready():
        mysql().close()
        return True
    wait_for("mariadb", ready, 60, proc, log)
    conn = mysql()
    with conn.cursor() as cur:
        for db in ("keystone", "placement", "glance", "nova_api",
                   "nova_cell0", "nova_cell1"):
            cur.execute(f"CREATE DATABASE {db} CHARACTER SET utf8")
        cur.execute(f"CREATE USER '{DB_USER}'@'{HOST}' IDENTIFIED BY "
                    f"'{DB_PASSWORD}'")
        cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'{HOST}'")
    conn.close()
    say(f"mariadb ready on {HOST}:{PORTS['mariadb']}")


def start_rabbitmq():
    epmd = PROCS.spawn("epmd", ["epmd", "-address", HOST,
                                "-port", PORTS["epmd"]])
    wait_for("epmd", lambda: port_open(PORTS["epmd"]), 15, epmd,
             LOGS / "epmd.log", interval=0.05)
    env = {
        "HOME": DATA / "rabbitmq/home",   # private Erlang cookie
        "RABBITMQ_CONF_ENV_FILE": ETC / "rabbitmq/rabbitmq-env.conf",
        "RABBITMQ_CONFIG_FILE": ETC / "rabbitmq/rabbitmq.conf",
        "RABBITMQ_ENABLED_PLUGINS_FILE": ETC / "rabbitmq/enabled_plugins",
        "RABBITMQ_MNESIA_BASE": DATA / "rabbitmq/mnesia",
        "RABBITMQ_LOG_BASE": LOGS / "rabbitmq-files",
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_PID_FILE": RUN / "rabbitmq-beam.pid",
        "RABBITMQ_NODENAME": "oscloud@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": PORTS["rabbitmq"],
        "RABBITMQ_DIST_PORT": PORTS["rabbitmq-dist"],
        "ERL_EPMD_PORT": PORTS["epmd"],
        "ERL_EPMD_ADDRESS": HOST,
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
            "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    proc = PROCS.spawn("rabbitmq", [RABBITMQ_SERVER],
                       env={k: str(v) for k, v in env.items()})
    wait_for("rabbitmq", lambda: port_open(PORTS["rabbitmq"]), 90, proc,
             LOGS / "rabbitmq.log")
    say(f"rabbitmq ready on {HOST}:{PORTS['rabbitmq']}")


def gunicorn(name, app, port, env, threads=4):
    return PROCS.spawn(name, [
        VENV / "bin/gunicorn", "--workers", "1", "--threads", threads,
        "--worker-class", "gthread", "--bind", f"{HOST}:{port}",
        "--no-control-socket", "--chdir", HERE, "--timeout", "120",
        "--graceful-timeout", "3", "--error-logfile", "-",
        "--access-logfile", "-", "--name", f"oscloud-{name}", app], env=env)


def wait_http(name, proc, timeout=90):
    url = f"http://{HOST}:{PORTS[name]}{HTTP_SERVICES[name]}"
    wait_for(f"{name} ({url})", lambda: http_status(url) < 500, timeout,
             proc, LOGS / f"{name}.log")
    say(f"{name} answers on {url}")


def keystone_manage(*args):
    return [VENV / "bin/keystone-manage", "--config-file",
            ETC / "keystone/keystone.conf", *args]


def keystone_keys():
    """What ``keystone-manage fernet_setup`` / ``credential_setup`` create:
    key 0 (staged) and key 1 (primary), 32 random bytes, url-safe base64."""
    import base64
    for repo in ("fernet-keys", "credential-keys"):
        d = DATA / "keystone" / repo
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        for index in ("0", "1"):
            fd = os.open(d / index, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.urlsafe_b64encode(os.urandom(32)).decode())


def start_keystone(db, keys):
    db.result()
    run("keystone-db-sync", keystone_manage("db_sync"))
    keys.result()
    url = f"http://{HOST}:{PORTS['keystone']}/v3/"
    run("keystone-bootstrap", keystone_manage(
        "bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
        "--bootstrap-region-id", REGION, "--bootstrap-admin-url", url,
        "--bootstrap-internal-url", url, "--bootstrap-public-url", url))
    proc = gunicorn("keystone", 'wsgi_loader:load("keystone.wsgi.api")',
                    PORTS["keystone"],
                    {"OS_KEYSTONE_CONFIG_FILES": ETC / "keystone/keystone.conf"})
    wait_http("keystone", proc)


def start_placement(db):
    db.result()
    run("placement-db-sync", [VENV / "bin/placement-manage", "--config-file",
                              ETC / "placement/placement.conf", "db", "sync"])
    proc = gunicorn("placement", 'wsgi_loader:load("placement.wsgi.api")',
                    PORTS["placement"],
                    {"OS_PLACEMENT_CONFIG_DIR": ETC / "placement"})
    wait_http("placement", proc)


def start_glance(db):
    db.result()
    run("glance-db-sync", [VENV / "bin/glance-manage", "--config-file",
                           ETC / "glance/glance-api.conf", "db_sync"])
    proc = gunicorn("glance", 'wsgi_loader:load("glance.wsgi.api")',
                    PORTS["glance"], {"OS_GLANCE_CONFIG_DIR": ETC / "glance"})
    wait_http("glance", proc)


def start_neutron():
    proc = gunicorn("neutron", "neutron_standin:application",
                    PORTS["neutron"], {}, threads=2)
    wait_http("neutron", proc)


NOVA_CONF = ["--config-file", ETC / "nova/nova.conf",
             "--config-file", ETC / "nova/nova-db.conf"]


def nova_manage(*args):
    return [VENV / "bin/nova-manage", *NOVA_CONF, *args]


def nova_databases(db):
    db.result()
    run("nova-db-setup", [venv_python(), HERE / "nova_db_setup.py",
                          *NOVA_CONF, "--cell0", db_url("nova_cell0")])


def start_nova_api(nova_db):
    nova_db.result()
    proc = gunicorn("nova-api", 'wsgi_loader:load("nova.wsgi.osapi_compute")',
                    PORTS["nova-api"], {
                        "OS_NOVA_CONFIG_DIR": ETC / "nova",
                        "OS_NOVA_CONFIG_FILES":
                            "api-paste.ini;nova.conf;nova-db.conf"})
    wait_http("nova-api", proc)


def cell_row(sql):
    def check():
        conn = mysql("nova_cell1")
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchone()[0] > 0
        finally:
            conn.close()
    return check


def after(*futures):
    """Wait for prerequisite steps (re-raises their errors)."""
    return [f.result() for f in futures]


def start_nova_control(nova_db, rabbit, placement, nova_identity):
    # Both build a placement client at start and die on a 401: they need the
    # nova user, the placement endpoint and placement itself.
    after(nova_db, rabbit, placement, *nova_identity)
    cond = PROCS.spawn("nova-conductor",
                       [VENV / "bin/nova-conductor", *NOVA_CONF])
    sched = PROCS.spawn("nova-scheduler",
                        [VENV / "bin/nova-scheduler", *NOVA_CONF])
    wait_for("nova-conductor registered", cell_row(
        "SELECT COUNT(*) FROM services WHERE `binary`='nova-conductor' "
        "AND deleted=0"), 90, cond, LOGS / "nova-conductor.log")
    say("nova-conductor registered")
    wait_for("nova-scheduler registered", cell_row(
        "SELECT COUNT(*) FROM services WHERE `binary`='nova-scheduler' "
        "AND deleted=0"), 90, sched, LOGS / "nova-scheduler.log")
    say("nova-scheduler registered")


def start_nova_compute(control):
    # Started after the conductor consumes (else it waits 10 s for it).
    after(control)
    proc = PROCS.spawn("nova-compute", [VENV / "bin/nova-compute",
                                        "--config-file", ETC / "nova/nova.conf"])
    wait_for("nova-compute registered its node", cell_row(
        "SELECT COUNT(*) FROM compute_nodes WHERE deleted=0"), 120, proc,
        LOGS / "nova-compute.log")
    say("nova-compute registered its node")
    # The scheduler's periodic discovery is slow and irregular: do it now.
    run("nova-discover-hosts", nova_manage("cell_v2", "discover_hosts"))


_ADMIN = []
_ADMIN_LOCK = threading.Lock()


def admin_connection(fresh=False):
    """The admin connection shared by the identity steps (one token), or a
    fresh one (``fresh=True``) whose token carries the catalog as it is now:
    the shared token's catalog predates the image and compute endpoints."""
    import openstack

    def connect():
        return openstack.connect(
            auth_url=AUTH_URL, username="admin", password=ADMIN_PASSWORD,
            project_name="admin", user_domain_name="Default",
            project_domain_name="Default", region_name=REGION,
            interface="public", identity_api_version="3",
            load_yaml_config=False, load_envvars=False)
    if fresh:
        return connect()
    with _ADMIN_LOCK:
        if not _ADMIN:
            _ADMIN.append(connect())
        return _ADMIN[0]


# Keystone bootstrap, split in small steps so that each consumer waits only
# for what it needs (keystone answers ~0.3 s per write on this machine).

def identity_base(keystone):
    after(keystone)
    ident = admin_connection().identity
    roles = {r.name: r for r in ident.roles()}
    for role in ("admin", "member", "reader", "service"):
        if role not in roles:
            roles[role] = ident.create_role(name=role)
    service_project = ident.create_project(
        name="service", domain_id="default", description="service users")
    return roles, service_project


def service_user(base, name):
    roles, service_project = base.result()
    ident = admin_connection().identity
    user = ident.create_user(name=name, password=SERVICE_PASSWORD,
                             domain_id="default",
                             default_project_id=service_project.id)
    for role in ("admin", "service"):
        ident.assign_project_role_to_user(service_project, user, roles[role])


def catalog_entry(base, name, service_type, url):
    base.result()
    ident = admin_connection().identity
    service = ident.create_service(name=name, type=service_type)
    for interface in ("public", "internal"):
        ident.create_endpoint(service_id=service.id, interface=interface,
                              url=url, region_id=REGION)


def customer_project(base, name):
    roles, _ = base.result()
    ident = admin_connection().identity
    project = ident.create_project(name=name, domain_id="default",
                                   description=f"test tenant {name}")
    username = f"{name}-user"
    user = ident.create_user(name=username, password=f"{name}-secret",
                             domain_id="default",
                             default_project_id=project.id)
    ident.assign_project_role_to_user(project, user, roles["member"])
    return {"id": project.id, "name": name, "cloud": name,
            "username": username, "password": f"{name}-secret",
            "user_id": user.id, "role": "member"}


def upload_image(glance, glance_identity):
    after(glance, *glance_identity)
    conn = admin_connection(fresh=True)
    image = conn.image.create_image(
        IMAGE_NAME, data=b"\0" * IMAGE_SIZE, disk_format="raw",
        container_format="bare", visibility="public", wait=True, timeout=60)
    image = conn.image.get_image(image.id)
    if image.status != "active":
        raise CloudError(f"image {image.id} is {image.status}, not active",
                         LOGS / "glance.log")
    say(f"image {IMAGE_NAME} ({image.id}) active")
    return {"id": image.id, "name": IMAGE_NAME, "size": IMAGE_SIZE,
            "disk_format": "raw", "container_format": "bare"}


def create_flavor(nova_api, compute_identity):
    after(nova_api, *compute_identity)
    flavor = admin_connection(fresh=True).compute.create_flavor(
        is_public=True, **FLAVOR)
    say(f"flavor {flavor.name} ({flavor.id}) created")
    return dict(FLAVOR, id=flavor.id)


def write_client_files(identity, image, flavor, seconds):
    def entry(username, password, project):
        return (f"    auth:\n"
                f"      auth_url: {AUTH_URL}\n"
                f"      username: {username}\n"
                f"      password: {password}\n"
                f"      project_name: {project}\n"
                f"      user_domain_name: Default\n"
                f"      project_domain_name: Default\n"
                f"    region_name: {REGION}\n"
                f"    interface: public\n"
                f"    identity_api_version: 3\n")
    text = "# Generated by tests/openstack/cloud.py: test cloud on 127.0.0.1\n"
    text += "clouds:\n  admin:\n" + entry("admin", ADMIN_PASSWORD, "admin")
    for customer, p in identity["projects"].items():
        text += f"  {customer}:\n" + entry(p["username"], p["password"],
                                           customer)
    CLOUDS_YAML.write_text(text)
    info = {
        "clouds_yaml": str(CLOUDS_YAML),
        "auth_url": AUTH_URL,
        "region_name": REGION,
        "admin": identity["admin"],
        "projects": identity["projects"],
        "flavor": flavor,
        "image": image,
        "compute_host": COMPUTE_HOST,
        "reclaim_seconds": RECLAIM_SECONDS,
        "endpoints": {
            "identity": AUTH_URL,
            "compute": f"http://{HOST}:{PORTS['nova-api']}/v2.1",
            "placement": f"http://{HOST}:{PORTS['placement']}",
            "image": f"http://{HOST}:{PORTS['glance']}",
            "network_standin": f"http://{HOST}:{PORTS['neutron']}",
        },
        "ports": PORTS,
        "state_dir": str(STATE),
        "log_dir": str(LOGS),
        "pid_dir": str(RUN),
        "cloud_py": str(Path(__file__).resolve()),
        "startup_seconds": round(seconds, 1),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp = CLOUD_JSON.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(CLOUD_JSON)


# --------------------------------------------------------------------------
# commands

def check_ports():
    busy = []
    for name, port in PORTS.items():
        if not port_free(port):
            owner = who_listens(port)
            busy.append(f"  {HOST}:{port} ({name}) is in use"
                        + (f": {owner}" if owner else "")
                        + f"  -> set {PORT_VARS[name]} to another port")
    if busy:
        raise CloudError("ports needed by the test cloud are busy:\n"
                         + "\n".join(busy))


def cmd_up(args):
    if running_pids() or our_pids() or _orchestrator():
        raise CloudError(f"a test cloud from {STATE} is already running; "
                         f"run '{sys.argv[0]} down' first")
    if os.environ.get("OSCLOUD_IN_VENV") != "1":
        ensure_system_packages()
        ensure_venv()
        env = dict(os.environ, OSCLOUD_IN_VENV="1",
                   OSCLOUD_T0=str(time.time() - (time.monotonic() - _T0)))
        os.execve(str(venv_python()), [str(venv_python()), __file__,
                                       *sys.argv[1:]], env)
    check_ports()
    if STATE.exists():
        shutil.rmtree(STATE)
    STARTED.set()
    for d in (LOGS, RUN, ETC, DATA):
        d.mkdir(parents=True)
    st = _stat(os.getpid())
    ORCHESTRATOR_PID.write_text(f"{os.getpid()} {st[2] if st else 0}\n")
    write_configs()
    t_start = time.monotonic()
    say(f"starting test cloud in {STATE} (logs: {LOGS})")
    os.environ.update({"no_proxy": "127.0.0.1,localhost",
                       "NO_PROXY": "127.0.0.1,localhost"})
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=32)
    try:
        sub = ex.submit
        # Every step only waits for steps submitted before it (no deadlock).
        db = sub(start_mariadb)
        rabbit = sub(start_rabbitmq)
        keys = sub(keystone_keys)
        neutron = sub(start_neutron)
        keystone = sub(start_keystone, db, keys)
        placement = sub(start_placement, db)
        glance = sub(start_glance, db)
        nova_db = sub(nova_databases, db)
        nova_api = sub(start_nova_api, nova_db)
        base = sub(identity_base, keystone)
        users = {u: sub(service_user, base, u)
                 for u in ("nova", "placement", "glance")}
        entries = {t: sub(catalog_entry, base, n, t, u) for n, t, u in (
            ("placement", "placement", f"http://{HOST}:{PORTS['placement']}"),
            ("nova", "compute", f"http://{HOST}:{PORTS['nova-api']}/v2.1"),
            ("glance", "image", f"http://{HOST}:{PORTS['glance']}"))}
        customers = {c: sub(customer_project, base, c) for c in CUSTOMERS}
        control = sub(start_nova_control, nova_db, rabbit, placement, (
            users["nova"], users["placement"], entries["placement"]))
        compute = sub(start_nova_compute, control)
        image = sub(upload_image, glance, (users["glance"], entries["image"]))
        flavor = sub(create_flavor, nova_api, (users["nova"],
                                               entries["compute"]))
        futures = [db, rabbit, keys, neutron, keystone, placement, glance,
                   nova_db, nova_api, base, *users.values(),
                   *entries.values(), *customers.values(), control, compute,
                   image, flavor]
        # Fail fast: the first error wins, later ones are consequences.
        for fut in concurrent.futures.as_completed(futures):
            fut.result()
    finally:
        ex.shutdown(wait=False, cancel_futures=True)
    seconds = time.monotonic() - t_start
    identity = {"admin": {"project_id": admin_connection().current_project_id,
                          "project_name": "admin", "username": "admin",
                          "password": ADMIN_PASSWORD, "cloud": "admin"},
                "projects": {c: f.result() for c, f in customers.items()}}
    write_client_files(identity, image.result(), flavor.result(), seconds)
    say(f"test cloud up in {seconds:.1f}s "
        f"(total incl. installation checks: {time.monotonic() - _T0:.1f}s)")
    say(f"cloud description: {CLOUD_JSON}")
    say(f"  export OPENSTACK_CLOUD_JSON={CLOUD_JSON}")
    say(f"  export OS_CLIENT_CONFIG_FILE={CLOUDS_YAML}")
    print(CLOUDS_YAML, flush=True)
    return 0


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(names, pids, timeout):
    group = {n: pids[n] for n in names if n in pids}
    if not group:
        return
    for pid in group.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in group.values() if alive(p)]
        if not left:
            break
        time.sleep(0.1)
    for name, pid in group.items():
        if alive(pid):
            say(f"{name} (pid {pid}) ignored SIGTERM for {timeout:.0f}s: "
                "SIGKILL")
        # Always SIGKILL the group: gunicorn workers or helpers may remain.
        _signal_group(pid, signal.SIGKILL)


def _orchestrator():
    """pid of another ``up`` that is still running, or None."""
    try:
        pid, start = map(int, ORCHESTRATOR_PID.read_text().split()[:2])
    except (OSError, ValueError):
        return None
    st = _stat(pid)
    if pid == os.getpid() or not st or st[0] in ("Z", "X") or st[2] != start:
        return None
    return pid


def _stop_orchestrator():
    """A ``down`` while ``up`` still runs: stop ``up`` first (it cleans up
    after itself), so that it starts nothing more."""
    pid = _orchestrator()
    if pid is None:
        return
    say(f"'up' (pid {pid}) is still running: interrupting it")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def cmd_down(args):
    t = time.monotonic()
    _stop_orchestrator()
    pids = running_pids()
    if pids:
        say("stopping " + ", ".join(f"{n}[{p}]" for n, p in pids.items()))
    # Services first (they would keep reconnecting), then infrastructure.
    _stop([n for n in SERVICES if n not in INFRA], pids, min(STOP_TIMEOUT, 5))
    _stop(["rabbitmq", "mariadb"], pids, STOP_TIMEOUT)
    _stop(["epmd"], pids, STOP_TIMEOUT)
    # Anything else of ours: workers, helpers, a stray epmd...
    deadline = time.monotonic() + STOP_TIMEOUT
    leftovers = our_pids()
    while leftovers and time.monotonic() < deadline:
        for pid in leftovers:
            say(f"leftover process {pid}: {_cmdline(pid)}: SIGKILL")
            _signal_group(pid, signal.SIGKILL)
        time.sleep(0.2)
        leftovers = our_pids()
    if leftovers:
        for pid in leftovers:
            say(f"STILL RUNNING: {pid} {_cmdline(pid)}")
        return 1
    if RUN.is_dir():
        for f in RUN.glob("*.pid"):
            f.unlink()
    # cloud.json describes a running cloud; logs stay for post-mortems.
    for f in (CLOUD_JSON, CLOUDS_YAML):
        if f.exists():
            f.unlink()
    busy = [f"{n}:{p}" for n, p in PORTS.items()
            if n != "rabbitmq-dist" and port_open(p)]
    say(f"test cloud down ({time.monotonic() - t:.1f}s); no process left"
        + (f"; note: ports still answering (not ours): {busy}" if busy else ""))
    return 0


def rss_mib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cmd_status(args):
    pids = running_pids()
    ok = True
    for name in SERVICES:
        pid = pids.get(name)
        line = f"{name:15} " + (f"pid {pid:<8}" if pid else "not running ")
        if pid and name in PORTS:
            port = PORTS[name]
            if name in HTTP_SERVICES:
                url = f"http://{HOST}:{port}{HTTP_SERVICES[name]}"
                try:
                    line += f" {url} -> HTTP {http_status(url)}"
                except OSError as exc:
                    line += f" {url} -> {exc}"
                    ok = False
            elif port_open(port):
                line += f" {HOST}:{port} open"
            else:
                line += f" {HOST}:{port} CLOSED"
                ok = False
        ok = ok and bool(pid)
        print(line)
    every = our_pids()
    print(f"{len(every)} processes in all (with workers and helpers), "
          f"{rss_mib(every):.0f} MiB RSS")
    if CLOUD_JSON.exists():
        print(f"cloud.json: {CLOUD_JSON}")
    print("status:", "UP" if ok else ("DOWN" if not pids else "PARTIAL"))
    return 0 if ok else 3


def cmd_logs(args):
    files = sorted(LOGS.glob("*.log")) if LOGS.is_dir() else []
    if not files:
        print(f"no logs in {LOGS}")
        return 1
    if args.follow:
        os.execvp("tail", ["tail", "-n", str(args.lines), "-F",
                           *map(str, files)])
    for f in files:
        print(f"==> {f} <==")
        print(tail(f, args.lines))
        print()
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="OpenStack test cloud on 127.0.0.1 (see README.md)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="install if needed, start and bootstrap")
    sub.add_parser("down", help="stop every process of the cloud")
    sub.add_parser("status", help="show processes and endpoints")
    p = sub.add_parser("logs", help="tail every service log")
    p.add_argument("-n", "--lines", type=int, default=40)
    p.add_argument("-f", "--follow", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "up":
        global _T0
        if os.environ.get("OSCLOUD_T0"):   # keep the clock across re-exec
            _T0 -= time.time() - float(os.environ["OSCLOUD_T0"])
        interrupted = []

        def on_signal(signum, frame):
            interrupted.append(signum)
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, on_signal)
        # Also when started in the background, where SIGINT is ignored.
        signal.signal(signal.SIGINT, on_signal)
        try:
            return cmd_up(args)
        except (CloudError, Exception, KeyboardInterrupt) as exc:
            if isinstance(exc, KeyboardInterrupt):
                msg = "interrupted"
            else:
                msg = str(exc) or type(exc).__name__
            log = getattr(exc, "log", None)
            print(f"\ncloud.py up FAILED: {msg}", file=sys.stderr, flush=True)
            if log:
                print(f"--- last lines of {log} ---\n{tail(log, 30)}\n---",
                      file=sys.stderr, flush=True)
            elif not isinstance(exc, (CloudError, KeyboardInterrupt)):
                import traceback
                traceback.print_exc()
            if STARTED.is_set():
                print(f"all logs: {LOGS} (python {sys.argv[0]} logs)",
                      file=sys.stderr, flush=True)
            abort()
            if running_pids() or our_pids():
                if os.environ.get("OSCLOUD_KEEP_ON_FAILURE") == "1":
                    print("OSCLOUD_KEEP_ON_FAILURE=1: leaving processes "
                          "running; run 'down' when done", file=sys.stderr)
                else:
                    cmd_down(args)
            return 130 if interrupted else 1
        finally:
            try:
                if ORCHESTRATOR_PID.read_text().split()[0] == str(os.getpid()):
                    ORCHESTRATOR_PID.unlink()
            except (OSError, IndexError):
                pass
    if args.command == "down":
        return cmd_down(args)
    if args.command == "status":
        return cmd_status(args)
    return cmd_logs(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:   # e.g. `cloud.py logs | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
