# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Rules of the billing actions and the dunning ladder, without the ORM.

The models (``action.py``, ``dunning.py``) call these functions; they are
tested in milliseconds with tables of cases in ``tests/test_ladder.py``.
"""
import datetime

__all__ = ['hold_applies', 'action_planned_date', 'state_after_attempt',
    'duplicate_of', 'is_overdue', 'ACTIVE_STATES']

# The states of an action that count as "this step exists" for idempotency.
ACTIVE_STATES = ('planned', 'running', 'done')


def hold_applies(date, *holds):
    """Whether an automation hold forbids automated actions on date

    Each hold is the last day (inclusive) of a hold or None: a hold applies
    up to and including its date and stops the day after.
    """
    return any(until is not None and date <= until for until in holds)


def action_planned_date(reached, delay=None):
    """The day an action of a dunning level is planned for

    reached is the day the dunning reached the level, delay a timedelta
    (None or negative counts as none: an action is never planned before
    the level is reached).
    """
    if delay is None or delay < datetime.timedelta(0):
        return reached
    return reached + datetime.timedelta(days=delay.days)


def state_after_attempt(outcome, attempts, max_attempts):
    """The state of an action after an attempt ended with outcome

    outcome is 'done', 'retry' or 'failed'; attempts counts the attempts
    made so far (this one included). A retry goes back to 'planned' until
    max_attempts are spent, then the action is 'failed'.
    """
    if outcome == 'done':
        return 'done'
    if outcome == 'failed':
        return 'failed'
    if outcome == 'retry':
        return 'planned' if attempts < max_attempts else 'failed'
    raise ValueError(f"unknown outcome {outcome!r}")


def duplicate_of(existing, planned_date, with_debt):
    """The id of the existing action a new plan is a duplicate of, or None

    existing lists (id, state, planned_date) of the actions of the same
    type on the same subscription and the same debt (invoice), oldest first.

    With a debt, any planned, running or done action is the same step: a
    debt goes through each step once. Without a debt, an action still to
    run (planned, running) is the same step whatever its date, and a done
    one only when it was planned for the same day: the same step may come
    back later (e.g. a second quota change).
    """
    for id_, state, date in existing:
        if state not in ACTIVE_STATES:
            continue
        if with_debt or state != 'done' or date == planned_date:
            return id_
    return None


def is_overdue(maturity_dates, date):
    """Whether unpaid amounts with these maturity dates are overdue on date

    An amount is overdue the day after its maturity date; an amount without
    a maturity date is due at once.
    """
    return any(d is None or d < date for d in maturity_dates)
