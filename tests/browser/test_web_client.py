"""A finance user logs in to the web client and finds the subscriptions."""
import pytest


pytestmark = pytest.mark.browser

DEMO_CUSTOMERS = [
    "Acme Hosting", "Globex Corporation", "Initech", "Umbrella Labs",
    "Stark Analytics"]


def open_menu(page, *path):
    for name in path:
        page.locator('#menu').get_by_text(name, exact=True).first.click()


def test_finance_user_sees_subscriptions(
        demo_server, page, screenshot, login):
    login(page, demo_server, 'finance', 'billing-demo')
    assert 'Finance User' in page.inner_text('nav')
    assert page.locator('#menu').get_by_text('Sales', exact=True).count()

    open_menu(page, 'Sales', 'Subscriptions')
    tab = page.locator('#tabcontent')
    # The list opens on the "Draft" filter; the demo subscriptions run.
    tab.get_by_role('tab', name='Running').first.click()
    for customer in DEMO_CUSTOMERS:
        tab.get_by_text(customer).first.wait_for(timeout=30000)
    rows = tab.locator('table.tree tbody tr:visible')
    assert rows.count() >= len(DEMO_CUSTOMERS)
    path = screenshot('subscriptions')
    assert path.stat().st_size > 10_000
