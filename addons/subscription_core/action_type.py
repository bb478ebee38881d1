# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The types of billing action as a declared table, without the ORM.

Each type of ``sale.subscription.billing.action`` is one ``ActionType`` row:
what it needs (its debt unpaid or paid), whether an automation hold stops
it, whether it runs remotely after the commit, the billing status it sets
once done, and for a workflow (the cloud overlay's grace workflow,
``cloud_billing/grace.py``) the email it sends and the steps it leads to.
``BillingAction._action_types()`` returns the table; the overlay adds its
rows. Tested as a table in ``tests/test_ladder.py``.
"""
import dataclasses

__all__ = ['ActionType', 'Next', 'ACTION_TYPES', 'UNPAID', 'PAID',
    'types_where']

# What a type needs of its debt (the invoice it is about, when it has one).
UNPAID = 'unpaid'  # runs only while the invoice is unpaid (a sanction)
PAID = 'paid'  # runs only once the invoice is paid (giving back)


@dataclasses.dataclass(frozen=True)
class Next:
    """A step a done action leads to

    type is planned on the date named date (a date the workflow computes,
    see cloud_billing/grace.py), only run while the subscription is in
    expected_status; run_now runs it at once.
    """
    type: str
    date: str
    expected_status: str | None = None
    run_now: bool = False


@dataclasses.dataclass(frozen=True)
class ActionType:
    "One type of billing action"
    name: str
    label: str
    help: str
    # The billing status the subscription is in once the action is done.
    target_status: str | None = None
    # UNPAID, PAID or None (runs whatever the debt).
    debt: str | None = None
    # An automation hold does not stop it (giving the service back after
    # a payment is never a sanction).
    hold_exempt: bool = False
    # Executed after the commit by an ir.queue task.
    remote: bool = False
    # Stops or destroys a customer's service (a per-run limit applies).
    destructive: bool = False
    # The workflow: the dates computed when it is done ({name: rule}), the
    # email sent (kind, value names), the subscription fields written
    # ((field, date name or None)), the reason of the next steps (a
    # message id) and the steps it leads to.
    dates: tuple = ()
    email: str | None = None
    email_values: tuple = ()
    records: tuple = ()
    reason: str | None = None
    leads_to: tuple = ()


ACTION_TYPES = {t.name: t for t in [
        ActionType('grace', "Grace",
            "the subscription enters its grace period.",
            target_status='grace', debt=UNPAID),
        ActionType('restore', "Restore",
            "the subscription is active again.",
            target_status='active', debt=PAID, hold_exempt=True),
        ActionType('close', "Close",
            "the subscription ends on the day the action runs.",
            debt=UNPAID),
        ]}


def types_where(table, **values):
    "The names of the types of table whose attributes have values"
    return {name for name, type_ in table.items()
        if all(getattr(type_, k) == v for k, v in values.items())}
