# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""When a failed email is tried again, without the ORM.

The models (``email_.py``) call these functions; ``tests/test_delivery.py``
tests them with tables of cases and hypothesis.

A send that fails is tried again after a delay that grows with the attempts
made (``BACKOFF``), up to ``MAX_ATTEMPTS`` attempts in all: about a day and
a half of mail outage is covered. After the last attempt the email stays
failed with no next attempt (*given up*); a person sends it again.
"""
import datetime

__all__ = ['MAX_ATTEMPTS', 'BACKOFF', 'next_attempt_at', 'is_due']

# The delay after the n-th failed attempt (n = 1, 2, ...).
BACKOFF = tuple(datetime.timedelta(minutes=m)
    for m in (5, 15, 30, 60, 120, 240, 480, 960))
MAX_ATTEMPTS = len(BACKOFF) + 1


def next_attempt_at(failed_at, attempts, max_attempts=MAX_ATTEMPTS):
    """The instant of the next attempt after the attempts made so far
    failed, the last one at failed_at; None when no attempt is left"""
    if attempts < 1:
        raise ValueError("no attempt was made")
    if attempts >= max_attempts:
        return None
    return failed_at + BACKOFF[min(attempts, len(BACKOFF)) - 1]


def is_due(state, next_at, now):
    """Whether an email in state is to be sent at the instant now

    A queued email is due at once; a failed one at its next attempt (never
    when none is left); a sent one never.
    """
    if state == 'queued':
        return True
    if state == 'failed':
        return next_at is not None and next_at <= now
    return False
