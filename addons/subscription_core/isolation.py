# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Savepoints: the part of a transaction a bad record can fail alone in.

A billing job works on many customers in one transaction. ``savepoint()``
runs a block inside a database savepoint (PostgreSQL and SQLite both):
when the block raises, the database is rolled back to the savepoint and so
are the transaction's side channels that live in Python (records created,
triggers, emails queued for the commit, queued tasks to run after it, the
record caches); the exception goes on to the caller. ``run_batches()`` runs
a job's work batch after batch, each in a savepoint, and a failed batch
again one group (a subscription, a customer) at a time, so that only the
group at fault is left out (``billing_error.py`` records it).

Errors that are nobody's record are never caught here: a transaction error
(Tryton restarts the transaction with the locks it asked for), a database
operational error (serialization failure, lock timeout, lost connection:
the whole transaction is retried) and an integrity error of the database
(a unique key hit by a concurrent run). They abort the job as before.
"""
import copy
import itertools

from trytond import backend
from trytond.transaction import Transaction, TransactionError

# The transaction's side channels that outlive a rolled back savepoint:
# records queued for triggers and logs, datamanagers (e.g. emails sent on
# commit), notifications.
TRANSACTION_STATE = [
    'create_records', 'delete_records', 'trigger_records', 'log_records',
    'user_notifications', 'check_warnings', '_datamanagers',
    ]
# The other attributes a Transaction sets when it is created and started,
# left as they are: a savepoint does not change them (database,
# connection, user, context, locks, timing) or the rollback clears them
# itself (cache, counter). tests/test_preview.py fails when trytond adds
# one, so that it is put in one list or the other.
TRANSACTION_KEPT = [
    'database', 'readonly', 'connection', 'user', 'context', 'timestamp',
    'started_at', 'counter', 'cache', '_cache_deque', '_atexit',
    '_locked_tables', '_locked_records',
    ]

# Errors of the transaction, not of a record (see the module's docstring)
TRANSIENT_ERRORS = (
    TransactionError,
    backend.DatabaseOperationalError,
    backend.DatabaseTimeoutError,
    backend.DatabaseIntegrityError,
    )

_names = itertools.count(1)


def is_transient(exception):
    "Whether exception is the transaction's, to retry it whole"
    return isinstance(exception, TRANSIENT_ERRORS)


def _copy(value):
    "A copy of a side channel deep enough that appends to it do not show"
    if isinstance(value, dict):
        result = copy.copy(value)
        for key, item in value.items():
            result[key] = copy.copy(item)
        return result
    return copy.copy(value)


def _snapshot(transaction):
    state = {a: _copy(getattr(transaction, a, None))
        for a in TRANSACTION_STATE}
    queues = [(d, len(d.queue)) for d in (transaction._datamanagers or [])
        if isinstance(getattr(d, 'queue', None), list)]
    return state, queues, len(transaction.tasks)


def _restore(transaction, snapshot):
    state, queues, tasks = snapshot
    for attribute, value in state.items():
        if hasattr(transaction, attribute):
            setattr(transaction, attribute, value)
    # The emails a datamanager joined before the savepoint queued inside it
    for datamanager, length in queues:
        del datamanager.queue[length:]
    del transaction.tasks[tasks:]
    for cache in transaction.cache.values():
        cache.clear()
    # The records' own caches are refreshed when the counter changes.
    transaction.counter += 1


def _begin(transaction):
    """Open the database transaction if it is not yet

    Python's sqlite3 starts a transaction before the first write only: a
    savepoint taken before would start one of its own, which its release
    would commit.
    """
    connection = transaction.connection
    if backend.name == 'sqlite' and not connection.in_transaction:
        connection.cursor().execute('BEGIN IMMEDIATE')


class savepoint:
    """Run a block in a savepoint; on an exception roll the database and
    the transaction's side channels back to it and raise the exception

    With rollback, the block is always rolled back (the billing preview).
    A transient error (is_transient) is raised as it is: the caller rolls
    the whole transaction back.
    """

    def __init__(self, rollback=False):
        self.rollback = rollback

    def __enter__(self):
        self.transaction = transaction = Transaction()
        _begin(transaction)
        self.name = 'billing_%s' % next(_names)
        self.snapshot = _snapshot(transaction)
        self.cursor = transaction.connection.cursor()
        self.cursor.execute('SAVEPOINT %s' % self.name)
        return self

    def __exit__(self, type_, value, traceback):
        if type_ is not None and is_transient(value):
            return False
        if type_ is not None or self.rollback:
            self.cursor.execute('ROLLBACK TO SAVEPOINT %s' % self.name)
            _restore(self.transaction, self.snapshot)
        self.cursor.execute('RELEASE SAVEPOINT %s' % self.name)
        return False


def batches(groups, size, first=None):
    """Split (key, ids) groups in lists of at most size groups

    The first list has at most first groups when given.
    """
    batch, limit = [], first or size
    for group in groups:
        if len(batch) == limit:
            yield batch
            batch, limit = [], size
        batch.append(group)
    if batch:
        yield batch


def run_batches(groups, work, failed, size, first=None):
    """Run work(ids) on the (key, ids) groups, a batch of them at a time

    Each batch runs in a savepoint; when it fails, it runs again one group
    at a time, each in its own savepoint, and failed(key, exception) is
    called for the groups that fail alone (they are left out, rolled back).
    Transient errors are raised. Return the concatenation of the results
    of work of the batches and groups that succeeded.
    """
    results = []
    for batch in batches(groups, size, first=first):
        ids = [i for _, group_ids in batch for i in group_ids]
        try:
            with savepoint():
                result = work(ids)
        except Exception as exception:
            if is_transient(exception):
                raise
            if len(batch) == 1:
                failed(batch[0][0], exception)
                continue
        else:
            results.extend(result or [])
            continue
        for key, group_ids in batch:
            try:
                with savepoint():
                    result = work(group_ids)
            except Exception as exception:
                if is_transient(exception):
                    raise
                failed(key, exception)
            else:
                results.extend(result or [])
    return results
