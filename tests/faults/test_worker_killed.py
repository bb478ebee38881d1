"""Fault: the worker running a remote action is killed (SIGKILL) between
the commit that marks the action running and the record of its outcome.

Two real worker processes (``process.py work``, trytond's ``Queue.pull``
and ``run_task``) on a database built in another process, the servers in
a fake Nova shared through a file:

* the first runs the billing actions job of the shelve day and the first
  shelve; it is killed just before the call to Nova (nothing done there);
* a second worker takes the next task and is killed once Nova shelved the
  server, before the outcome is recorded.

Both actions are left running. Two hours later the reaper (``reap``, the
scheduler's job, in the test's process) runs the first shelve again and
finishes the second from the server's state: both done, each server
shelved by one request, the deletion planned once, each email sent once.
"""
from . import cases, world


class WorkerKilledTestCase(cases.ProcessTestCase):
    "A worker killed while a remote action runs"

    label = 'kill'

    def kill_at(self, label, point, *args):
        "Start a worker, wait until it reaches point, kill it"
        ready = self.folder / ('%s.ready' % label)
        worker = self.processes.start(label, 'work', self.folder / 'nova',
            world.SHELVE_DAY, '--stop', point, '--ready', ready, *args)
        self.processes.wait_for(ready, worker)
        self.processes.kill(worker)

    def test_worker_killed(self):
        self.build('setup_customers', 'setup_grace')
        self.kill_at('worker-1', 'call', '--job')
        self.kill_at('worker-2', 'outcome')

        shelves = self.actions('shelve')
        self.assertEqual({n: a.state for n, a in shelves.items()},
            {'alpha': 'running', 'beta': 'running'})
        # The worker killed before the call left its server as it was, the
        # one killed after it left its server shelved
        untouched, = [n for n, s in self.servers().items() if s == 'ACTIVE']
        shelved, = [n for n, s in self.servers().items()
            if s == 'SHELVED_OFFLOADED']

        # Two hours later, the reaper's hourly job and its tasks
        self.age_running(2)
        self.assertEqual(len(self.reap()), 2)

        shelves = self.actions('shelve')
        self.assertEqual(
            [e.message.split(':')[0] for e in shelves[shelved].events[-2:]],
            ['Stranded', 'Recovered'])
        self.assertEqual(
            [(e.from_state, e.to_state)
                for e in shelves[untouched].events[-4:]],
            [('running', 'running'), ('running', 'planned'),
                ('planned', 'running'), ('running', 'done')])
        self.assertShelvedOnce()
