"""pytest plugin for end-to-end tests on the loopback OpenStack test cloud.

Fixture ``openstack_cloud`` (session scope):

* ``OPENSTACK_CLOUD_JSON=/path/to/cloud.json`` set: use that already-running
  cloud (``make e2e`` and ``cloud.py up`` create it); it is checked to answer
  and is left running at the end;
* otherwise: ``tests/openstack/cloud.py up`` is run before the first test that
  needs it, and ``down`` at the end of the session.

Fixtures ``erp`` (module scope: a cloud_billing database whose
``[cloud_billing] clouds_yaml`` is the test cloud's) and ``boot`` (boot
servers in a customer project, deleted at the end of the test).

When a test that uses the cloud fails, the tail of every service log is added
to its report (``OPENSTACK_CLOUD_LOG_LINES``, default 25 lines per log).
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOUD_PY = ROOT / "tests" / "openstack" / "cloud.py"
_CLOUD_KEY = pytest.StashKey()


class OpenStackCloud:
    """What the tests need to know about the running test cloud."""

    def __init__(self, info, json_path):
        self.info = info
        self.json_path = Path(json_path)
        self.clouds_yaml = info["clouds_yaml"]
        self.auth_url = info["auth_url"]
        self.region_name = info["region_name"]
        self.admin_project_id = info["admin"]["project_id"]
        self.projects = {name: p["id"] for name, p in info["projects"].items()}
        self.users = {name: p["username"]
                      for name, p in info["projects"].items()}
        self.flavor_id = info["flavor"]["id"]
        self.flavor = info["flavor"]
        self.image_id = info["image"]["id"]
        self.log_dir = Path(info["log_dir"])
        # Nova's reclaim_instance_interval: a delete leaves SOFT_DELETED.
        self.reclaim_seconds = info.get("reclaim_seconds", 0)

    def __repr__(self):
        return f"<OpenStackCloud {self.auth_url} ({self.json_path})>"

    def project_id(self, name):
        return self.projects[name]

    def connect(self, cloud="admin"):
        """An ``openstack.connection.Connection`` for a clouds.yaml entry:
        ``admin``, ``customer-a`` or ``customer-b``."""
        import openstack
        from openstack import config as os_config

        config = os_config.OpenStackConfig(
            config_files=[self.clouds_yaml], load_envvars=False)
        return openstack.connection.Connection(
            config=config.get_one(cloud=cloud))

    @staticmethod
    def purge(conn, server_ids, wait=120, interval=0.5):
        """Delete servers for good, soft-deleted or not, and wait for 404

        The test cloud keeps deleted servers SOFT_DELETED (its reclaim
        interval): a plain delete would leave them behind. Never raises.
        """
        from openstack import exceptions
        for server_id in server_ids:
            try:
                conn.compute.delete_server(server_id, force=True)
            except exceptions.SDKException:
                pass
        deadline = time.monotonic() + wait
        for server_id in server_ids:
            while time.monotonic() < deadline:
                try:
                    conn.compute.get_server(server_id)
                except exceptions.NotFoundException:
                    break
                except exceptions.SDKException:
                    pass
                time.sleep(interval)

    def log_tail(self, lines=25):
        out = []
        # Service logs only: setup-*.log matter when `up` fails, and cloud.py
        # prints them itself then.
        for log in sorted(self.log_dir.glob("*.log")):
            if log.name.startswith("setup-"):
                continue
            try:
                text = log.read_text(errors="replace").splitlines()
            except OSError as exc:
                text = [f"(cannot read: {exc})"]
            out.append(f"==> {log} <==")
            out.extend(text[-lines:])
        return "\n".join(out) or f"(no logs in {self.log_dir})"


def _answers(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def _cloud_cmd(command, timeout):
    return subprocess.run(
        [sys.executable, str(CLOUD_PY), command], cwd=str(ROOT),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=timeout)


@pytest.fixture(scope="session")
def openstack_cloud(request):
    json_path = os.environ.get("OPENSTACK_CLOUD_JSON")
    started = False
    if json_path:
        if not Path(json_path).is_file():
            pytest.fail(f"OPENSTACK_CLOUD_JSON={json_path} does not exist: "
                        f"start the cloud with 'python {CLOUD_PY} up' (or "
                        "'make cloud-up'), or unset the variable to let the "
                        "tests start one", pytrace=False)
    else:
        try:
            result = _cloud_cmd("up", timeout=1800)
        except subprocess.TimeoutExpired as exc:
            _cloud_cmd("down", timeout=120)
            pytest.fail(f"cloud.py up timed out:\n{exc.output or ''}",
                        pytrace=False)
        if result.returncode != 0:
            pytest.fail(f"cloud.py up failed (exit {result.returncode}):\n"
                        f"{result.stdout}", pytrace=False)
        started = True
        json_path = str(ROOT / ".openstack-cloud" / "cloud.json")
        for line in result.stdout.splitlines():
            if "export OPENSTACK_CLOUD_JSON=" in line:
                json_path = line.split("OPENSTACK_CLOUD_JSON=", 1)[1].strip()
    info = json.loads(Path(json_path).read_text())
    cloud = OpenStackCloud(info, json_path)
    if not _answers(cloud.auth_url):
        pytest.fail(f"the test cloud of {json_path} does not answer on "
                    f"{cloud.auth_url}: is it still up? (python {CLOUD_PY} "
                    "status)", pytrace=False)
    request.config.stash[_CLOUD_KEY] = cloud
    try:
        yield cloud
    finally:
        request.config.stash[_CLOUD_KEY] = None
        if started:
            result = _cloud_cmd("down", timeout=300)
            if result.returncode != 0:
                sys.stderr.write(f"\ncloud.py down failed:\n{result.stdout}\n")


@pytest.fixture(scope="module")
def erp(openstack_cloud):
    "A cloud_billing database whose [cloud_billing] clouds_yaml is the cloud's"
    import trytond.config as config
    from trytond.tests.test_tryton import drop_db
    from trytond.tests.tools import activate_modules

    from subscription_core.tests.tools import setup_billing

    section = "cloud_billing"
    saved = ({o: config.get(section, o) for o in config.options(section)}
             if config.has_section(section) else None)
    if saved is None:
        config.add_section(section)
    config.set(section, "clouds_yaml", openstack_cloud.clouds_yaml)
    try:
        yield activate_modules("cloud_billing", setup_billing)
    finally:
        drop_db()
        config.remove_section(section)
        if saved is not None:
            config.add_section(section)
            for option, value in saved.items():
                config.set(section, option, value)


BOOT_WAIT = 120     # seconds; a fake-driver boot takes ~1-2 s
BOOT_POLL = 0.5


@pytest.fixture
def boot(openstack_cloud):
    """Boot servers with the customers' own credentials, ACTIVE; delete them
    all at the end"""
    created = []

    def boot(project="customer-a", name="e2e"):
        conn = openstack_cloud.connect(project)
        server = conn.compute.create_server(
            name=f"{name}-{uuid.uuid4().hex[:6]}",
            flavor_id=openstack_cloud.flavor_id,
            image_id=openstack_cloud.image_id, networks="none")
        created.append((conn, server.id))
        return conn.compute.wait_for_server(
            server, status="ACTIVE", failures=["ERROR"], interval=BOOT_POLL,
            wait=BOOT_WAIT)
    yield boot
    for conn, server_id in created:
        openstack_cloud.purge(conn, [server_id], BOOT_WAIT, BOOT_POLL)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    if "openstack_cloud" not in getattr(item, "fixturenames", ()):
        return
    cloud = item.config.stash.get(_CLOUD_KEY, None)
    if cloud is None:
        return
    lines = int(os.environ.get("OPENSTACK_CLOUD_LOG_LINES", "25"))
    report.sections.append((f"OpenStack test cloud logs (last {lines} lines "
                            f"each, all in {cloud.log_dir})",
                            cloud.log_tail(lines)))


@pytest.fixture
def mail():
    "A real SMTP server on loopback (aiosmtpd) that keeps what it receives"
    from cloud_billing.tests.tools import MailCatcher
    with MailCatcher() as catcher:
        yield catcher
