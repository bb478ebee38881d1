"""Support sees on the dashboard what needs a person: a billing error, a
held destructive batch and the restore deadline of deleted servers.

The demo data (scripts/demo_data.py) has a customer whose service has no
revenue account (Massive Dynamic: a billing error each run), two shelves
held above the demo's cap of one a day (Tyrell Systems, Cyberdyne
Compute), and a customer whose servers were deleted on a cloud that keeps
them restorable for 30 days (Wayne Cloudworks).
"""
import datetime
import pathlib
import re

import pytest

from test_web_client import open_menu

pytestmark = pytest.mark.browser

SCREENSHOT = (pathlib.Path(__file__).resolve().parents[2]
    / 'artifacts' / 'screenshots' / 'dashboard.png')


def row_text(tab, name):
    return tab.locator('table.tree tbody tr:visible').filter(
        has_text=name).first.inner_text()


def test_support_sees_errors_held_and_deadlines(
        demo_server, page, screenshot, login):
    login(page, demo_server, 'support', 'billing-demo')
    open_menu(page, 'Billing', 'Cloud Billing Dashboard')
    tab = page.locator('#tabcontent .tab-pane.active')
    # "Needs Attention" lists all three.
    for name in ["Massive Dynamic", "Tyrell Systems", "Wayne Cloudworks"]:
        tab.get_by_text(name).first.wait_for(timeout=30000)
    header = tab.locator('table.tree thead').first.inner_text()
    for column in ["Billing Errors", "Held Actions", "Restorable Until"]:
        assert column in header, (column, header)

    # The restore deadline of the deleted servers is a day to come.
    today = datetime.date.today()
    dates = [datetime.datetime.strptime(d, '%m/%d/%Y').date()
        for d in re.findall(r'\d\d/\d\d/\d{4}',
            row_text(tab, "Wayne Cloudworks"))]
    assert any(d > today for d in dates), dates

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    screenshot('attention')

    # The tabs filter them: errors, then held actions.
    tab.get_by_role('tab', name=re.compile('^Billing Errors')).first.click()
    tab.get_by_text("Massive Dynamic").first.wait_for(timeout=30000)
    table = tab.locator('table.tree').first.inner_text()
    assert "Tyrell Systems" not in table
    tab.get_by_role('tab', name=re.compile('^Held Actions')).first.click()
    tab.get_by_text("Tyrell Systems").first.wait_for(timeout=30000)
    tab.get_by_text("Cyberdyne Compute").first.wait_for(timeout=30000)
    table = tab.locator('table.tree').first.inner_text()
    assert "Massive Dynamic" not in table
    assert "Shelve" in row_text(tab, "Tyrell Systems")
