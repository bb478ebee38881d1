"""The access matrix: what each role may do in the billing, declared once.

The test (test_access_matrix.py) logs in as each role over JSON-RPC and
tries every cell; the documentation's table
(addons/cloud_billing/doc/security_matrix.rst) is rendered from it:
``python tests/security/access_matrix.py`` rewrites it, and the test fails
when it is not current.

The roles are the test users: ``finance`` has the groups Billing Finance,
Sales and Accounting; ``finance_manager`` adds Billing Finance Manager and
Accounting Administration; ``support`` has Billing Support only; ``sales``
has Sales only; ``employee`` has no group (subscription_core/tests/tools.py
and matrix_db.py build them).

Models: R read (search), W write, C create, D delete; ``-`` refused. The
rights are those of the model as a whole: the record rules (company) and
the guards on records and fields (a granted credit, a running subscription)
come on top. Fields: R read, W write of one field (ir.model.field.access
and field guards). Wizards and buttons: X may run it.
"""
import pathlib
import textwrap

ROLES = ('finance', 'finance_manager', 'support', 'sales', 'employee')
ROLE_TITLES = ('Finance', 'Finance Manager', 'Support', 'Sales', 'Employee')

#: model: rights per role in the order of ROLES
MODELS = {
    # subscription_core
    'sale.subscription.billing.action': (
        'R---', 'RWC-', 'R---', '----', '----'),
    'sale.subscription.billing.action.event': (
        'R---', 'R---', 'R---', '----', '----'),
    'sale.subscription.billing_error': (
        'R---', 'R---', '----', '----', '----'),
    'sale.subscription.compensation': (
        'RWCD', 'RWCD', 'R---', '----', '----'),
    'sale.subscription.credit': (
        'RWCD', 'RWCD', 'R---', '----', '----'),
    'sale.subscription.credit.movement': (
        'R---', 'R---', 'R---', '----', '----'),
    'sale.subscription.line.limit_change': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'sale.subscription.automation_hold': (
        'R---', 'R---', 'R---', '----', '----'),
    'sale.subscription.service.tier': (
        'R---', 'R---', 'R---', 'R---', 'R---'),
    'account.invoice.line.rating_trace': (
        'R---', 'R---', '----', '----', '----'),
    # cloud_billing
    'cloud_billing.cloud': (
        'R---', 'RWCD', 'R---', '----', '----'),
    'cloud_billing.configuration': (
        'R---', 'RWC-', 'R---', '----', '----'),
    'cloud_billing.dashboard': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_billing.destructive_batch': (
        'R---', 'R---', 'R---', '----', '----'),
    'cloud_billing.project_relink': (
        'R---', 'R---', '----', '----', '----'),
    'cloud_billing.resource': (
        'R---', 'RW--', 'R---', '----', '----'),
    'cloud_billing.usage_collection': (
        'R---', 'R---', 'R---', '----', '----'),
    'sale.subscription.billing_email': (
        'R---', 'R--D', 'R---', '----', '----'),
    'sale.subscription.billing_email.branding': (
        'R---', 'RWCD', '----', '----', '----'),
    'sale.subscription.billing_email.text': (
        'RWC-', 'RWC-', 'R---', '----', '----'),
    # cloud_pricing: the provider's catalog, written only by the sync
    'cloud_pricing.component_spec': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.compute_plan': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.csp_resource': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.discount_bracket': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.plan_assignment': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.service_pricing': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.sla_surcharge': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.sla_tier': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.storage': (
        'R---', 'R---', 'R---', 'R---', '----'),
    'cloud_pricing.catalog.sync_run': (
        'R---', 'R---', '----', '----', '----'),
    # cloud_pricing: billing configuration, the finance managers'
    'cloud_pricing.organization.origin': (
        'R---', 'RWCD', 'R---', 'R---', '----'),
    # billing_usage
    'billing_usage.metric': (
        'R---', 'RWCD', 'R---', 'R---', 'R---'),
    'billing_usage.metric.filter': (
        'R---', 'RWCD', 'R---', 'R---', 'R---'),
    'billing_usage.event': (
        'R-C-', 'R-C-', 'R---', '----', '----'),
    'billing_usage.row': (
        'R---', 'R---', 'R---', '----', '----'),
    'billing_usage.configuration': (
        'R---', 'RWC-', 'R---', '----', '----'),
    # Tryton's models the modules extend
    'sale.subscription': (
        'RWCD', 'RWCD', 'R---', 'RWCD', '----'),
    'sale.subscription.line': (
        'RWCD', 'RWCD', 'R---', 'RWCD', '----'),
    'sale.subscription.line.consumption': (
        'RWCD', 'RWCD', 'R---', 'RWCD', '----'),
    'sale.subscription.service': (
        'R---', 'R---', 'R---', 'R---', 'R---'),
    'account.invoice': (
        'RWCD', 'RWCD', '----', 'R---', '----'),
    # Genshi templates evaluate code: the administrators' alone.
    'ir.email.template': (
        'R---', 'R---', 'R---', 'R---', 'R---'),
    }

#: (model, field): rights per role on the field (R read, W write)
FIELDS = {
    ('cloud_billing.cloud', 'entry'): ('--', 'RW', '--', '--', '--'),
    ('cloud_billing.cloud', 'region'): ('--', 'RW', '--', '--', '--'),
    ('cloud_billing.resource', 'uuid'): ('R-', 'R-', 'R-', '--', '--'),
    ('cloud_billing.resource', 'project_id'): ('R-', 'R-', 'R-', '--', '--'),
    ('cloud_billing.resource', 'shelved_by_billing'): (
        'R-', 'RW', 'R-', '--', '--'),
    ('sale.subscription', 'cloud_sync_error'): (
        'R-', 'R-', 'R-', '--', '--'),
    # The field access lets finance write it so that the guard
    # (check_modification) answers with the message that names the Hold
    # Automation wizard; the write itself is refused (scenario_guarded_fields).
    ('party.party', 'automation_hold_until'): (
        'RW', 'RW', 'R-', 'R-', 'R-'),
    # Only the server records a delivery: Tryton refuses every client write
    # of ir.email and has no create over RPC (test_email_delivery_refused).
    ('ir.email', 'delivery_state'): ('R-', 'R-', 'R-', 'R-', 'R-'),
    ('ir.email', 'delivery_message'): ('R-', 'R-', 'R-', 'R-', 'R-'),
    # An organization's origin and billing entity: set by finance (kept
    # once its billing is set up, scenario_organization_billing)
    ('party.party', 'organization_origin'): (
        'RW', 'RW', 'R-', 'R-', 'R-'),
    ('party.party', 'billing_entity'): (
        'RW', 'RW', 'R-', 'R-', 'R-'),
    }

#: wizard: (the model it runs on or None, may run per role)
WIZARDS = {
    'sale.subscription.billing.run': (None, 'XX---'),
    'sale.subscription.billing.preview': (None, 'XX---'),
    'sale.subscription.line.change_limit': (
        'sale.subscription.line', 'XX---'),
    'sale.subscription.automation_hold.hold': (
        'sale.subscription', 'XX---'),
    'sale.subscription.automation_hold.release': (
        'sale.subscription', 'XX---'),
    'cloud_billing.relink_project': (
        'sale.subscription', '-X---'),
    'cloud_billing.destructive_batch.release': (
        'cloud_billing.destructive_batch', '-X---'),
    'sale.subscription.billing.action.cancel': (
        'sale.subscription.billing.action', '-X---'),
    'cloud_pricing.catalog.sync': (None, 'XX---'),
    'cloud_pricing.price': (None, 'XX-X-'),
    'cloud_pricing.change_spec': ('sale.subscription', 'XX---'),
    'cloud_pricing.checklist.show': (None, 'XX---'),
    'billing_usage.row.generate': (None, 'XX---'),
    'billing_usage.event.import': (None, 'XX---'),
    # Tryton's
    'sale.subscription.create_invoice': (None, 'XX-X-'),
    'sale.subscription.line.consumption.create': (None, 'XX-X-'),
    }

#: (model, button): may click per role
BUTTONS = {
    ('sale.subscription', 'sync_resources'): 'XX---',
    ('sale.subscription', 'collect_usage'): 'XX---',
    ('sale.subscription.billing.action', 'request_cancel'): '-X---',
    ('sale.subscription.billing.action', 'retry'): '-X---',
    ('sale.subscription.compensation', 'apply'): 'XX---',
    ('sale.subscription.compensation', 'cancel'): 'XX---',
    ('sale.subscription.credit', 'grant'): 'XX---',
    ('sale.subscription.credit', 'reverse'): '-X---',
    ('cloud_billing.dashboard', 'open_subscription'): 'XXX--',
    ('cloud_billing.dashboard', 'sync_resources'): 'XX---',
    ('cloud_billing.dashboard', 'collect_usage'): 'XX---',
    ('cloud_billing.destructive_batch', 'request_release'): '-X---',
    }

DOC = (pathlib.Path(__file__).resolve().parents[2]
    / 'addons' / 'cloud_billing' / 'doc' / 'security_matrix.rst')


def _table(title, rows):
    "A simple reStructuredText table of (name, cells) rows"
    header = (title,) + ROLE_TITLES
    rows = [(name,) + tuple(cells) for name, cells in rows]
    widths = [max(len(str(r[i])) for r in [header] + rows)
        for i in range(len(header))]
    rule = '  '.join('=' * w for w in widths)

    def line(row):
        return '  '.join(
            str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
    return '\n'.join(
        [rule, line(header), rule] + [line(r) for r in rows] + [rule])


def _cells(cells):
    return [c.replace('-', '·') for c in cells]


def render():
    "The documentation page of the matrix"
    title = "Access matrix"

    def paragraph(text):
        return textwrap.fill(text, 79)
    return '\n'.join([
        '=' * len(title), title, '=' * len(title), '',
        paragraph(
            "What each role may do, as the test "
            "``tests/security/test_access_matrix.py`` checks it over "
            "JSON-RPC. The page is generated from "
            "``tests/security/access_matrix.py``: edit the table there and "
            "run ``python tests/security/access_matrix.py``."),
        '',
        paragraph(
            "The roles are the test users: *Finance* has the groups Billing "
            "Finance, Sales and Accounting; *Finance Manager* adds Billing "
            "Finance Manager and Accounting Administration; *Support* has "
            "Billing Support only; *Sales* has Sales only; *Employee* has "
            "no group."),
        '',
        paragraph(
            "Models: R read, W write, C create, D delete, · refused. These "
            "are the rights on the model; the company record rules and the "
            "guards on records and fields (a granted credit, a running "
            "subscription) come on top. Credit movements, billing action "
            "events, billing errors, limit changes and the dashboard refuse "
            "every create, write and delete from a client: only the "
            "modules' own code writes them."),
        '',
        _table("Model", [(f'``{m}``', _cells(MODELS[m]))
                for m in sorted(MODELS)]),
        '',
        "Fields: R read, W write.",
        '',
        _table("Field", [(f'``{m}.{f}``', _cells(FIELDS[m, f]))
                for m, f in sorted(FIELDS)]),
        '',
        "Wizards and buttons: X may run it.",
        '',
        _table("Wizard", [(f'``{w}``', _cells(WIZARDS[w][1]))
                for w in sorted(WIZARDS)]),
        '',
        _table("Button", [(f'``{m}`` *{b}*', _cells(BUTTONS[m, b]))
                for m, b in sorted(BUTTONS)]),
        '',
        ])


if __name__ == '__main__':
    DOC.write_text(render(), encoding='utf-8')
