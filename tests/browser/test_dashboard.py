"""A support user opens the cloud billing dashboard on the demo data."""
import pytest

from test_web_client import open_menu

pytestmark = pytest.mark.browser

# The status labels the demo data (scripts/demo_data.py) produces.
DEMO_STATUSES = [
    "Active", "Grace", "Shelved", "Pending Deletion", "Deleted"]
# What finance must see at a glance (scripts/demo_data.py): a customer
# whose billing fails (an open billing error), two whose shelves wait in
# the held batch above the demo's cap, one whose deleted server can still
# be restored.
ATTENTION = {
    "Billing Errors": {"Cyberdyne Systems": "1"},
    "Held Actions": {"Hooli": "1", "Vandelay Industries": "1"},
    }
RESTORABLE = "Wayne Cloudworks"


def cells(tab, header):
    """{first cell (the customer): the cell under header} for the rows of
    the list, read in one pass in the page"""
    return tab.locator('table.tree').first.evaluate(
        """(table, header) => {
            const heads = [...table.querySelectorAll('thead th')]
                .map(th => th.innerText.trim());
            const at = heads.indexOf(header);
            if (at < 0) return {missing: heads};
            const first = heads.findIndex(h => h === 'Customer');
            const rows = {};
            for (const tr of table.querySelectorAll('tbody tr')) {
                const tds = tr.querySelectorAll('td');
                if (tds.length !== heads.length) continue;
                rows[tds[first].innerText.trim()] = tds[at].innerText.trim();
            }
            return rows;
        }""", header)


def test_support_reads_dashboard(demo_server, page, screenshot, login):
    login(page, demo_server, 'support', 'billing-demo')
    open_menu(page, 'Billing', 'Cloud Billing Dashboard')
    tab = page.locator('#tabcontent .tab-pane.active')
    rows = tab.locator('table.tree tbody tr:visible')
    # The list opens on "Needs Attention": the customers not in good
    # standing; "All" adds the others.
    tab.get_by_text("Initech").first.wait_for(timeout=30000)
    tab.get_by_role('tab', name='All').first.click()
    tab.get_by_text("Acme Hosting").first.wait_for(timeout=30000)
    table = tab.locator('table.tree').first.inner_text()
    # Wide enough for every column, up to "Restorable Until"
    page.set_viewport_size({'width': 2400, 'height': 900})
    tab.get_by_text("Restorable Until").first.wait_for(timeout=30000)
    path = screenshot('list')
    page.set_viewport_size({'width': 1400, 'height': 900})
    assert path.stat().st_size > 10_000
    for status in DEMO_STATUSES:
        assert status in table, f"no {status} row in the dashboard"
    assert "Shelve" in table  # the next action of the customer in grace
    # Billing errors, held batches and restore deadlines, per customer
    for header, expected in ATTENTION.items():
        column = cells(tab, header)
        assert 'missing' not in column, (header, column)
        for customer, value in expected.items():
            assert column.get(customer) == value, (header, customer, column)
        others = {c: v for c, v in column.items()
            if c not in expected and v not in {'', '0'}}
        assert not others, (header, others)
    deadlines = cells(tab, "Restorable Until")
    assert 'missing' not in deadlines, deadlines
    assert deadlines.get(RESTORABLE), deadlines
    assert [c for c, v in deadlines.items() if v] == [RESTORABLE], deadlines
    # The tabs finance opens first: the billing errors, the held actions
    for name, expected in [
            ("Billing Errors", ATTENTION["Billing Errors"]),
            ("Held Actions", ATTENTION["Held Actions"])]:
        tab.get_by_role('tab', name=name).first.click()
        page.wait_for_function(
            """([names, count]) => {
                const rows = [...document.querySelectorAll(
                    '#tabcontent .tab-pane.active table.tree tbody tr')]
                    .filter(r => r.offsetParent !== null
                        && r.querySelectorAll('td').length > 1);
                return rows.length === count && names.every(
                    n => rows.some(r => r.innerText.includes(n)));
            }""", arg=[list(expected), len(expected)], timeout=30000)
        screenshot(name.lower().replace(' ', '-'))
    tab.get_by_role('tab', name='All').first.click()
    tab.get_by_text("Acme Hosting").first.wait_for(timeout=30000)

    # Support may neither create nor save anything here.
    for button in ['new_', 'save']:
        assert tab.locator(f'button#{button}').is_disabled()

    # A row opens read-only. The form's fields are checked in one pass in
    # the page (sao re-renders widgets while the record loads, so counting
    # then indexing elements would race with it).
    rows.filter(has_text="Initech").first.dblclick()
    form = tab.locator('.form').first
    form.wait_for(timeout=30000)
    page.wait_for_function(
        """() => [...document.querySelectorAll(
            '#tabcontent .tab-pane.active .form input')]
            .some(e => e.value.includes('Initech'))""", timeout=30000)
    editable = tab.locator('.form input').evaluate_all(
        """els => els.filter(e => e.offsetParent !== null
            && !e.disabled && !e.readOnly
            && e.type !== 'hidden' && e.type !== 'checkbox')
            .map(e => e.outerHTML)""")
    assert tab.locator('.form input:visible').count()
    assert not editable, editable
    assert tab.locator('button#save').is_disabled()
    # Finance's button is shown but cannot be clicked by support; opening
    # the subscription (a read) can.
    sync = tab.locator('.form button', has_text='Sync Cloud Resources')
    assert sync.first.is_disabled()
    opening = tab.locator('.form button', has_text='Open Subscription')
    assert opening.first.is_enabled()
    screenshot('form')

    # The graph view: customers per billing status, one bar per status.
    tab.locator('button#switch_').first.click()
    graph = tab.locator('.graph svg').first
    graph.wait_for(timeout=30000)
    page.wait_for_function(
        """() => document.querySelectorAll(
            '#tabcontent .tab-pane.active .graph svg .bb-bar').length > 0""",
        timeout=30000)
    legend = tab.locator('.graph').first.inner_text()
    bars = tab.locator('.graph svg path.bb-bar').count()
    path = screenshot('graph')
    assert path.stat().st_size > 5_000
    assert bars >= len(DEMO_STATUSES), (bars, legend)
    labels = tab.locator('.graph svg .bb-axis-x .tick').evaluate_all(
        'els => els.map(e => e.textContent)')
    for status in DEMO_STATUSES:
        assert any(status in label for label in labels), (status, labels)
