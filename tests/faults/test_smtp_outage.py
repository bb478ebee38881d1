"""Fault: the mail server is down on the shelve day, then back.

The servers are shelved and the steps done although their emails cannot
leave; nothing is recorded as sent while the server is down, however often
the reaper and the retry job (send_failed_emails) run; once it is back the
retry job sends each email exactly once, and later runs send nothing more.
"""
from . import cases, world
from .cases import ACTIONS


class SMTPOutageTestCase(cases.CommittedTestCase):
    "The mail server down then back"

    def test_mail_server_down_then_back(self):
        self.mail.down()
        try:
            self.job(ACTIONS, world.SHELVE_DAY)

            shelves = self.actions('shelve')
            self.assertEqual({n: a.state for n, a in shelves.items()},
                {'alpha': 'done', 'beta': 'done'})
            self.assertEqual(self.servers(),
                {'alpha': 'SHELVED_OFFLOADED', 'beta': 'SHELVED_OFFLOADED'})
            self.assertEqual(self.sent_emails('shelved'), [])

            # An hour later the reaper and the retry job: still down
            self.age_tasks(2)
            self.reap()
            self.retry_emails(1)
            self.assertEqual(self.sent_emails('shelved'), [])
        finally:
            self.mail.up()
        self.assertEqual(self.received(), [])

        # Back: the next retry sends each once
        self.age_tasks(2)
        self.reap()
        self.retry_emails(1)
        self.assertEqual(self.sent_emails('shelved'), ['alpha', 'beta'])
        self.assertEqual(self.received(),
            ['alpha@example.com', 'beta@example.com'])

        # Nothing twice: the reaper and the retry job again, the day again
        self.age_tasks(2)
        self.reap()
        self.retry_emails(24)
        self.job(ACTIONS, world.SHELVE_DAY)
        self.assertEqual(self.received(), [])
        self.assertEqual(self.sent_emails('shelved'), ['alpha', 'beta'])
        self.assertEqual(self.requests(), {'alpha': 1, 'beta': 1})
        self.assertEqual({n: a.state for n, a in self.actions(
                    'shelve').items()}, {'alpha': 'done', 'beta': 'done'})
