"""Fault: the mail server is down on the shelve day, then back.

The servers are shelved and the steps done although their emails cannot
leave; nothing is recorded as sent while the server is down, however often
the reaper queues the emails again; once it is back each email leaves
exactly once, and later runs send nothing more.
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

            # An hour later the reaper queues them again: still down
            self.age_tasks(2)
            self.reap()
            self.assertEqual(self.sent_emails('shelved'), [])
        finally:
            self.mail.up()
        self.assertEqual(self.received(), [])

        # Back: the next reaper run sends each once
        self.age_tasks(2)
        self.reap()
        self.assertEqual(self.sent_emails('shelved'), ['alpha', 'beta'])
        self.assertEqual(self.received(),
            ['alpha@example.com', 'beta@example.com'])

        # Nothing twice: the reaper again, the day again
        self.age_tasks(2)
        self.reap()
        self.job(ACTIONS, world.SHELVE_DAY)
        self.assertEqual(self.received(), [])
        self.assertEqual(self.sent_emails('shelved'), ['alpha', 'beta'])
        self.assertEqual(self.requests(), {'alpha': 1, 'beta': 1})
        self.assertEqual({n: a.state for n, a in self.actions(
                    'shelve').items()}, {'alpha': 'done', 'beta': 'done'})
