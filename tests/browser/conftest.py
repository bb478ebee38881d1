"""Fixtures for the browser tests: a trytond server with the demo data on a
free loopback port, and Debian's Chromium driven by Playwright.

The server gets its own database (an SQLite file in a temporary folder, or a
PostgreSQL database when TRYTOND_DATABASE__URI names one), built by the same
script as `make demo`. Everything started here is stopped here.
"""
import os
import pathlib

import pytest
from trytond_server import demo_server as trytond_demo_server

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / 'artifacts' / 'browser'
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync',
    ]


DATABASE = 'cloudbill_browser'
# The demo build activates the modules and bills months of demo data: on a
# loaded machine it took more than the 15 minutes of the other builds (slow,
# not stuck: it went on using CPU and finished within 30).
BUILD_TIMEOUT = 1800


@pytest.fixture(scope='session')
def demo_server(tmp_path_factory):
    "URL of a trytond server serving the web client on the demo data"
    sao_root = ROOT / '.sao' / 'package'
    if not (sao_root / 'index.html').exists():
        pytest.fail(f"the web client is not installed in {sao_root}: "
            "run `make sao`")
    data = tmp_path_factory.mktemp('browser-db')
    with trytond_demo_server(DATABASE, data, build_timeout=BUILD_TIMEOUT,
            TRYTOND_WEB__ROOT=str(sao_root)) as (url, _):
        yield url


@pytest.fixture(scope='session')
def browser():
    from playwright.sync_api import sync_playwright
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs "
            "Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={'width': 1400, 'height': 900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot(page, request):
    "Save a screenshot under artifacts/browser/ named after the test"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    backend = ('postgresql'
        if os.environ.get('TRYTOND_DATABASE__URI', '').startswith(
            'postgresql') else 'sqlite')

    def take(name):
        path = ARTIFACTS / f'{request.node.name}-{name}-{backend}.png'
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


@pytest.fixture
def login():
    """The function that logs in through sao's login dialog (a fixture: two
    conftest modules, this one and tests/e2e's, cannot both be imported as
    ``conftest`` when one pytest run collects both folders)"""
    return _login


def _login(page, url, user, password):
    "Log in through sao's login dialog to the test database"
    # The URL's hash names the database: on PostgreSQL the server lists
    # every Tryton database of the cluster, and the dialog's choice could be
    # another one.
    page.goto(url + '#' + DATABASE)
    page.wait_for_selector('input#login')
    # The dialog asks the server for its databases (on PostgreSQL trytond
    # connects to each database of the cluster to list it): submit once
    # the page is quiet. In CI on PostgreSQL the password field once did
    # not come within the default 30 s.
    page.wait_for_load_state('networkidle', timeout=120000)
    page.fill('input#login', user)
    page.click('button[type=submit]')
    page.wait_for_selector('input[type=password]', timeout=120000)
    page.fill('input[type=password]', password)
    page.keyboard.press('Enter')
    page.wait_for_selector('#menu .treeview, #menu table', timeout=30000)
