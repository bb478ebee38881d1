# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the remote-call layer (cloud_billing.openstack) against the test
double of an openstacksdk Connection (fake_openstack). No cloud, no
database: milliseconds."""
import json
import os
import textwrap
import unittest

from cloud_billing import openstack
from cloud_billing.openstack import ALREADY, DONE, FAILED, GONE, RETRY
from cloud_billing.tests import leaks
from cloud_billing.tests.fake_openstack import FakeCloud
from subscription_core import redaction

PROJECT = 'project-a'
OTHER = 'project-b'


class CloudTestCase(unittest.TestCase):

    def setUp(self):
        self.cloud = FakeCloud()
        self.conn = self.cloud.connection()

    def server(self, status='ACTIVE', project=PROJECT, name='vm', **kw):
        server = self.cloud.add_server(project, name=name, status=status)
        for key, value in kw.items():
            setattr(server, key, value)
        return server

    def posts(self):
        return self.cloud.actions('POST')

    def status(self, server):
        return self.cloud.servers[server.id].status


class ListServersTestCase(CloudTestCase):

    def test_admin_lists_one_project(self):
        a1 = self.server(name='a1')
        a2 = self.server(name='a2', status='SHUTOFF')
        self.server(project=OTHER, name='b1')
        servers = openstack.list_servers(self.conn, PROJECT)
        self.assertEqual(
            sorted((s.id, s.name, s.project_id, s.status, s.flavor)
                for s in servers),
            sorted([(a1.id, 'a1', PROJECT, 'ACTIVE', 'm1.tiny'),
                    (a2.id, 'a2', PROJECT, 'SHUTOFF', 'm1.tiny')]))

    def test_project_connection_lists_its_own(self):
        a1 = self.server()
        self.server(project=OTHER)
        conn = self.cloud.connection(PROJECT)
        self.assertEqual(
            [s.id for s in openstack.list_servers(conn, PROJECT)], [a1.id])

    def test_project_connection_cannot_list_another(self):
        conn = self.cloud.connection(PROJECT)
        with self.assertRaises(openstack.RemoteError) as cm:
            openstack.list_servers(conn, OTHER)
        self.assertEqual(cm.exception.result, FAILED)
        self.assertEqual(cm.exception.status_code, 403)

    def test_timeout_is_retry(self):
        self.cloud.inject('servers', fault='timeout')
        with self.assertRaises(openstack.RemoteError) as cm:
            openstack.list_servers(self.conn, PROJECT)
        self.assertEqual(cm.exception.result, RETRY)
        self.assertIn('timed out', cm.exception.message)

    def test_confirm_missing(self):
        "Only a server's own read says it is gone"
        here = self.server(name='here')
        deleted = self.server(name='deleted', status='DELETED')
        soft = self.server(name='soft', status='SOFT_DELETED')
        moved = self.server(project=OTHER, name='moved')
        broken = self.server(name='broken')
        self.cloud.inject('get_server', broken.id, fault=500)
        gone, present = openstack.confirm_missing(self.conn,
            [here.id, deleted.id, soft.id, moved.id, broken.id, 'no-such'],
            PROJECT)
        self.assertEqual(gone, {deleted.id, moved.id, 'no-such'})
        # Soft-deleted: still restorable, not gone.
        self.assertEqual(list(present), [here.id, soft.id])
        self.assertEqual(present[here.id].status, 'ACTIVE')
        self.assertEqual(present[soft.id].status, 'SOFT_DELETED')

    def test_confirm_missing_connection_lost(self):
        here = self.server()
        self.cloud.inject('get_server', here.id, fault='timeout')
        with self.assertRaises(openstack.RemoteError) as cm:
            openstack.confirm_missing(self.conn, [here.id], PROJECT)
        self.assertTrue(cm.exception.connection)

    def test_server_error_is_retry(self):
        self.cloud.inject('servers', fault=503)
        with self.assertRaises(openstack.RemoteError) as cm:
            openstack.list_servers(self.conn, PROJECT)
        self.assertEqual(cm.exception.result, RETRY)
        self.assertTrue(cm.exception.request_id.startswith('req-'))


class ShelveTestCase(CloudTestCase):

    def test_shelvable_states(self):
        for status in ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED']:
            with self.subTest(status=status):
                server = self.server(status)
                outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
                self.assertEqual(
                    (outcome.result, outcome.status, outcome.error,
                        outcome.sent),
                    (DONE, status, None, True))
                self.assertIn(
                    ('POST', '/servers/%s/action' % server.id), self.posts())

    def test_request_ids(self):
        server = self.server()
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        calls = [c for c in self.cloud.calls if c[1].endswith(server.id)
            or c[1].endswith('/action')]
        (_, _, get_global, _), (_, _, post_global, post_id) = calls
        # Nova's id of the POST, our global id on every call for the server
        self.assertEqual(outcome.request_id, post_id)
        self.assertTrue(outcome.global_request_id.startswith('req-'))
        self.assertEqual(get_global, outcome.global_request_id)
        self.assertEqual(post_global, outcome.global_request_id)
        self.assertIsNone(self.conn.global_request_id)

    def test_each_server_its_own_global_request_id(self):
        servers = [self.server(), self.server()]
        outcomes = openstack.shelve(
            self.conn, [s.id for s in servers], PROJECT)
        self.assertEqual(len({o.global_request_id for o in outcomes}), 2)

    def test_already_shelved(self):
        for status in ['SHELVED', 'SHELVED_OFFLOADED']:
            with self.subTest(status=status):
                server = self.server(status)
                outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
                self.assertEqual(
                    (outcome.result, outcome.status, outcome.sent),
                    (ALREADY, status, False))
        self.assertEqual(self.posts(), [])

    def test_error_state_fails(self):
        server = self.server('ERROR')
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        self.assertEqual((outcome.result, outcome.status), (FAILED, 'ERROR'))
        self.assertIn('ERROR', outcome.error)
        self.assertEqual(self.posts(), [])

    def test_task_in_progress_retries(self):
        server = self.server(task_state='resize_prep')
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        self.assertEqual(outcome.result, RETRY)
        self.assertIn('resize_prep', outcome.error)
        self.assertEqual(self.posts(), [])

    def test_transition_retries_unknown_state_fails(self):
        for status, result in [
                ('BUILD', RETRY), ('REBOOT', RETRY), ('RESCUE', FAILED),
                ('VERIFY_RESIZE', FAILED), ('SOFT_DELETED', GONE)]:
            with self.subTest(status=status):
                server = self.server(status)
                outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
                self.assertEqual(outcome.result, result)
        self.assertEqual(self.posts(), [])

    def test_locked_409_retries(self):
        server = self.server(locked=True)
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        self.assertEqual(
            (outcome.result, outcome.status, outcome.sent),
            (RETRY, 'ACTIVE', False))
        self.assertIn('locked', outcome.error)
        self.assertTrue(outcome.request_id.startswith('req-'))
        self.assertEqual(self.status(server), 'ACTIVE')

    def test_409_into_error_fails(self):
        server = self.server()
        original = self.cloud._advance

        def into_error(s):
            s.status = 'ERROR'
        self.cloud._advance = into_error
        try:
            outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        finally:
            self.cloud._advance = original
        self.assertEqual((outcome.result, outcome.status), (FAILED, 'ERROR'))

    def test_409_reached_meanwhile_is_already(self):
        server = self.server()
        self.cloud.inject('shelve_server', server.id, 'race')
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        self.assertEqual(
            (outcome.result, outcome.status, outcome.error),
            (ALREADY, 'SHELVED_OFFLOADED', None))

    def test_gone(self):
        outcome, = openstack.shelve(
            self.conn, ['6f1b1c5e-0000-0000-0000-000000000000'], PROJECT)
        self.assertEqual((outcome.result, outcome.status), (GONE, 'DELETED'))
        self.assertIn('could not be found', outcome.error)

    def test_5xx_retries(self):
        server = self.server()
        self.cloud.inject('shelve_server', server.id, 500)
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        self.assertEqual((outcome.result, outcome.sent), (RETRY, True))

    def test_timeout_retries_and_stops_the_batch(self):
        first, second = self.server(), self.server()
        self.cloud.inject('shelve_server', first.id, 'timeout')
        outcomes = openstack.shelve(
            self.conn, [first.id, second.id], PROJECT)
        self.assertEqual([o.result for o in outcomes], [RETRY, RETRY])
        self.assertTrue(outcomes[0].sent)
        self.assertIn('timed out', outcomes[0].error)
        self.assertTrue(outcomes[1].error.startswith('Not tried'))
        self.assertFalse(outcomes[1].sent)
        self.assertIsNone(outcomes[1].global_request_id)
        self.assertEqual(self.status(first), 'ACTIVE')
        self.assertEqual(self.status(second), 'ACTIVE')
        self.assertNotIn(
            ('POST', '/servers/%s/action' % second.id), self.posts())

    def test_lost_answer_then_retry_is_already(self):
        server = self.server()
        self.cloud.inject('shelve_server', server.id, 'lost')
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        self.assertEqual((outcome.result, outcome.sent), (RETRY, True))
        outcome, = openstack.shelve(
            self.conn, [server.id], PROJECT, wait=5, interval=0)
        # It was shelving: the second attempt waits for it, never repeats.
        self.assertIn(outcome.result, {RETRY, ALREADY})
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        self.assertEqual(outcome.result, ALREADY)
        self.assertEqual(len(self.posts()), 1)

    def test_other_project_refused(self):
        server = self.server(project=OTHER)
        outcome, = openstack.shelve(self.conn, [server.id], PROJECT)
        self.assertEqual(outcome.result, FAILED)
        self.assertIn('Refused', outcome.error)
        self.assertIn(OTHER, outcome.error)
        self.assertEqual(self.posts(), [])
        self.assertEqual(self.status(server), 'ACTIVE')

    def test_wait_offloaded(self):
        server = self.server()
        outcome, = openstack.shelve(
            self.conn, [server.id], PROJECT, wait=5, interval=0)
        self.assertEqual(
            (outcome.result, outcome.status), (DONE, 'SHELVED_OFFLOADED'))

    def test_wait_shelved_without_offload(self):
        self.cloud.offload = False
        server = self.server()
        outcome, = openstack.shelve(
            self.conn, [server.id], PROJECT, wait=5, interval=0,
            target=['SHELVED'])
        self.assertEqual((outcome.result, outcome.status), (DONE, 'SHELVED'))

    def test_wait_bounded(self):
        server = self.server(stuck=True)
        outcome, = openstack.shelve(
            self.conn, [server.id], PROJECT, wait=0.05, interval=0.01)
        self.assertEqual((outcome.result, outcome.sent), (RETRY, True))
        self.assertIn('not yet SHELVED_OFFLOADED', outcome.error)

    def test_wait_error_fails(self):
        server = self.server()
        original = self.cloud._advance

        def into_error(s):
            if s.task_state == 'shelving':
                s.status, s.task_state = 'ERROR', None
                s.steps, s.final = [], None
        self.cloud._advance = into_error
        try:
            outcome, = openstack.shelve(
                self.conn, [server.id], PROJECT, wait=5, interval=0)
        finally:
            self.cloud._advance = original
        self.assertEqual((outcome.result, outcome.status), (FAILED, 'ERROR'))

    def test_authentication_failure_tries_once(self):
        servers = [self.server(), self.server()]
        self.conn.auth_fault = 'unauthorized'
        outcomes = openstack.shelve(
            self.conn, [s.id for s in servers], PROJECT)
        self.assertEqual([o.result for o in outcomes], [FAILED, FAILED])
        self.assertIn('authentication', outcomes[0].error)
        self.assertTrue(outcomes[1].error.startswith('Not tried'))
        self.assertEqual(self.cloud.calls, [])

    def test_mixed_batch(self):
        active = self.server()
        shelved = self.server('SHELVED_OFFLOADED')
        error = self.server('ERROR')
        locked = self.server(locked=True)
        foreign = self.server(project=OTHER)
        outcomes = openstack.shelve(self.conn, [
                active.id, shelved.id, error.id, locked.id, foreign.id],
            PROJECT)
        self.assertEqual(
            [o.result for o in outcomes],
            [DONE, ALREADY, FAILED, RETRY, FAILED])
        self.assertEqual(
            [o.as_dict()['server_id'] for o in outcomes],
            [active.id, shelved.id, error.id, locked.id, foreign.id])


class UnshelveTestCase(CloudTestCase):

    def test_unshelve(self):
        for status in ['SHELVED', 'SHELVED_OFFLOADED']:
            with self.subTest(status=status):
                server = self.server(status)
                outcome, = openstack.unshelve(
                    self.conn, [server.id], PROJECT, wait=5, interval=0)
                self.assertEqual(
                    (outcome.result, outcome.status), (DONE, 'ACTIVE'))

    def test_already_active(self):
        server = self.server()
        outcome, = openstack.unshelve(self.conn, [server.id], PROJECT)
        self.assertEqual(outcome.result, ALREADY)
        self.assertEqual(self.posts(), [])

    def test_not_shelved_fails(self):
        for status in ['SHUTOFF', 'ERROR', 'PAUSED']:
            with self.subTest(status=status):
                server = self.server(status)
                outcome, = openstack.unshelve(
                    self.conn, [server.id], PROJECT)
                self.assertEqual(outcome.result, FAILED)
        self.assertEqual(self.posts(), [])

    def test_unshelving_retries(self):
        server = self.server('SHELVED_OFFLOADED', task_state='unshelving')
        outcome, = openstack.unshelve(self.conn, [server.id], PROJECT)
        self.assertEqual(outcome.result, RETRY)

    def test_gone_and_foreign(self):
        foreign = self.server('SHELVED_OFFLOADED', project=OTHER)
        gone, foreign = openstack.unshelve(
            self.conn, ['9d0b5a3c-0000-0000-0000-000000000000', foreign.id],
            PROJECT)
        self.assertEqual(gone.result, GONE)
        self.assertEqual(foreign.result, FAILED)
        self.assertEqual(self.posts(), [])

    def test_locked_retries(self):
        server = self.server('SHELVED_OFFLOADED', locked=True)
        outcome, = openstack.unshelve(self.conn, [server.id], PROJECT)
        self.assertEqual(outcome.result, RETRY)


class DeleteTestCase(CloudTestCase):

    def deletes(self):
        return self.cloud.actions('DELETE')

    def test_delete(self):
        server = self.server()
        outcome, = openstack.delete(self.conn, [server.id], PROJECT)
        self.assertEqual((outcome.result, outcome.sent), (DONE, True))
        self.assertEqual(outcome.request_id, self.cloud.calls[-1][3])
        self.assertEqual(self.deletes(), [('DELETE', '/servers/' + server.id)])

    def test_delete_wait_until_gone(self):
        server = self.server('SHELVED_OFFLOADED')
        outcome, = openstack.delete(
            self.conn, [server.id], PROJECT, wait=5, interval=0)
        self.assertEqual((outcome.result, outcome.status), (DONE, 'DELETED'))
        self.assertNotIn(server.id, self.cloud.servers)

    def test_not_found_is_done(self):
        outcome, = openstack.delete(
            self.conn, ['0b3f4f3e-0000-0000-0000-000000000000'], PROJECT)
        self.assertEqual(
            (outcome.result, outcome.status, outcome.error, outcome.sent),
            (DONE, 'DELETED', None, False))
        self.assertTrue(outcome.request_id.startswith('req-'))
        self.assertEqual(self.deletes(), [])

    def test_other_project_refused(self):
        ours = self.server()
        foreign = self.server(project=OTHER)
        refused, deleted = openstack.delete(
            self.conn, [foreign.id, ours.id], PROJECT)
        self.assertEqual(refused.result, FAILED)
        self.assertIn('Refused', refused.error)
        self.assertEqual(deleted.result, DONE)
        self.assertIn(foreign.id, self.cloud.servers)
        self.assertEqual(self.deletes(), [('DELETE', '/servers/' + ours.id)])

    def test_expected_project_required(self):
        server = self.server()
        for project in [None, '']:
            with self.assertRaises(ValueError):
                openstack.delete(self.conn, [server.id], project)
        self.assertEqual(self.cloud.calls, [])

    def test_error_server_deleted(self):
        server = self.server('ERROR')
        outcome, = openstack.delete(self.conn, [server.id], PROJECT)
        self.assertEqual(outcome.result, DONE)

    def test_locked_retries(self):
        server = self.server(locked=True)
        outcome, = openstack.delete(self.conn, [server.id], PROJECT)
        self.assertEqual(outcome.result, RETRY)
        self.assertIn(server.id, self.cloud.servers)

    def test_lost_answer_then_done(self):
        server = self.server()
        self.cloud.inject('delete_server', server.id, 'lost')
        outcome, = openstack.delete(self.conn, [server.id], PROJECT)
        self.assertEqual((outcome.result, outcome.sent), (RETRY, True))
        outcome, = openstack.delete(
            self.conn, [server.id], PROJECT, wait=5, interval=0)
        self.assertEqual((outcome.result, outcome.status), (DONE, 'DELETED'))


class SoftDeleteTestCase(CloudTestCase):
    "A cloud with a reclaim interval: delete soft-deletes, restore undoes"

    def setUp(self):
        self.cloud = FakeCloud(reclaim_seconds=3600)
        self.conn = self.cloud.connection()

    def test_soft_deleted_is_not_gone(self):
        "A listing or a read finds it: present, restorable, not gone"
        server = self.server('SOFT_DELETED')
        deleted = self.server('DELETED', name='deleted')
        listed = openstack.list_servers(self.conn, PROJECT)
        self.assertEqual(
            {s.id: s.status for s in listed},
            {server.id: 'SOFT_DELETED', deleted.id: 'DELETED'})
        gone, present = openstack.confirm_missing(
            self.conn, [server.id, deleted.id], PROJECT)
        self.assertEqual(gone, {deleted.id})
        self.assertEqual(list(present), [server.id])
        # Present, but it cannot be shelved nor unshelved.
        shelved, = openstack.shelve(self.conn, [server.id], PROJECT)
        unshelved, = openstack.unshelve(self.conn, [server.id], PROJECT)
        self.assertEqual((shelved.result, unshelved.result), (GONE, GONE))

    def test_delete_then_restore(self):
        "Delete leaves it SOFT_DELETED, restore brings it back ACTIVE"
        server = self.server()
        deleted, = openstack.delete(
            self.conn, [server.id], PROJECT, wait=5, interval=0)
        self.assertEqual(
            (deleted.result, deleted.status), (DONE, 'SOFT_DELETED'))
        self.assertEqual(self.status(server), 'SOFT_DELETED')
        # Deleting again is already done.
        again, = openstack.delete(self.conn, [server.id], PROJECT)
        self.assertEqual((again.result, again.sent), (ALREADY, False))

        outcome, = openstack.restore(
            self.conn, [server.id], PROJECT, wait=5, interval=0)
        self.assertEqual(
            (outcome.result, outcome.status, outcome.sent),
            (DONE, 'ACTIVE', True))
        self.assertEqual(self.status(server), 'ACTIVE')
        self.assertIn(('POST', '/servers/%s/action' % server.id),
            self.posts())
        again, = openstack.restore(self.conn, [server.id], PROJECT)
        self.assertEqual((again.result, again.sent), (ALREADY, False))

    def test_reclaimed_is_gone(self):
        "Once Nova reclaimed it (404 or DELETED) nothing comes back"
        server = self.server('SOFT_DELETED')
        deleted = self.server('DELETED', name='deleted')
        self.cloud.reclaim()
        reclaimed, listed = openstack.restore(
            self.conn, [server.id, deleted.id], PROJECT)
        self.assertEqual(
            (reclaimed.result, reclaimed.status, reclaimed.sent),
            (GONE, 'DELETED', False))
        self.assertEqual((listed.result, listed.status), (GONE, 'DELETED'))
        self.assertEqual(self.posts(), [])

    def test_restore_refusals(self):
        active = self.server(task_state='restoring', status='SOFT_DELETED')
        shelved = self.server('SHELVED_OFFLOADED')
        error = self.server('ERROR')
        foreign = self.server('SOFT_DELETED', project=OTHER)
        outcomes = openstack.restore(self.conn,
            [active.id, shelved.id, error.id, foreign.id], PROJECT)
        self.assertEqual([o.result for o in outcomes],
            [RETRY, FAILED, FAILED, FAILED])
        self.assertIn('Refused', outcomes[3].error)
        self.assertEqual(self.posts(), [])
        self.assertEqual(self.status(foreign), 'SOFT_DELETED')

    def test_restore_needs_the_project(self):
        server = self.server('SOFT_DELETED')
        for project in [None, '']:
            with self.assertRaises(ValueError):
                openstack.restore(self.conn, [server.id], project)
        self.assertEqual(self.cloud.calls, [])


class QuotaTestCase(CloudTestCase):

    def puts(self):
        return self.cloud.actions('PUT')

    def test_change_and_read_back(self):
        outcome = openstack.quota_change(
            self.conn, PROJECT, {'cores': 8, 'ram': 16384, 'instances': 4})
        self.assertEqual(outcome.result, DONE)
        self.assertEqual(
            outcome.applied, {'cores': 8, 'ram': 16384, 'instances': 4})
        self.assertEqual(outcome.mismatches, {})
        self.assertEqual(self.cloud.quota(PROJECT)['ram'], 16384)
        self.assertEqual(self.puts(), [('PUT', '/os-quota-sets/' + PROJECT)])
        put, = [c for c in self.cloud.calls if c[0] == 'PUT']
        self.assertEqual(outcome.request_id, put[3])
        self.assertEqual(put[2], outcome.global_request_id)
        self.assertEqual(
            openstack.get_quota(self.conn, PROJECT),
            {'cores': 8, 'ram': 16384, 'instances': 4})

    def test_unchanged_is_already(self):
        self.cloud.quota(PROJECT).update(cores=8)
        outcome = openstack.quota_change(self.conn, PROJECT, {'cores': 8})
        self.assertEqual((outcome.result, outcome.applied),
            (ALREADY, {'cores': 8}))
        self.assertEqual(self.puts(), [])

    def test_mismatch_fails(self):
        self.cloud.ignored_quota_keys = {'ram'}
        outcome = openstack.quota_change(
            self.conn, PROJECT, {'cores': 8, 'ram': 1024})
        self.assertEqual(outcome.result, FAILED)
        self.assertEqual(outcome.mismatches, {'ram': (1024, 51200)})
        self.assertIn('ram=51200 (asked 1024)', outcome.error)

    def test_below_usage_refused_never_forced(self):
        self.server()
        self.server()
        outcome = openstack.quota_change(self.conn, PROJECT, {'instances': 1})
        self.assertEqual(outcome.result, FAILED)
        self.assertIn('already used', outcome.error)
        self.assertEqual(self.cloud.quota(PROJECT)['instances'], 10)

    def test_block_storage_skipped_without_api(self):
        outcome = openstack.quota_change(
            self.conn, PROJECT, {'cores': 4, 'volumes': 2, 'gigabytes': 50})
        self.assertEqual(outcome.result, DONE)
        self.assertEqual(outcome.applied, {'cores': 4})
        self.assertEqual(sorted(outcome.skipped), ['gigabytes', 'volumes'])

    def test_block_storage_applied(self):
        self.cloud.block_storage = True
        outcome = openstack.quota_change(
            self.conn, PROJECT, {'cores': 4, 'volumes': 2, 'gigabytes': 50})
        self.assertEqual(outcome.result, DONE)
        self.assertEqual(
            outcome.applied, {'cores': 4, 'volumes': 2, 'gigabytes': 50})
        self.assertEqual(self.cloud.block_quota(PROJECT)['gigabytes'], 50)

    def test_timeout_retries(self):
        self.cloud.inject('update_quota_set', fault='timeout')
        outcome = openstack.quota_change(self.conn, PROJECT, {'cores': 4})
        self.assertEqual(outcome.result, RETRY)

    def test_not_admin_fails(self):
        conn = self.cloud.connection(PROJECT)
        outcome = openstack.quota_change(conn, PROJECT, {'cores': 4})
        self.assertEqual(outcome.result, FAILED)
        self.assertEqual(self.cloud.quota(PROJECT)['cores'], 20)

    def test_unknown_key(self):
        with self.assertRaises(ValueError):
            openstack.quota_change(self.conn, PROJECT, {'floating_ips': 1})


class ConnectTestCase(unittest.TestCase):
    "openstack.connect builds the connection without reaching the cloud"

    def setUp(self):
        import tempfile
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.clouds_yaml = os.path.join(self.dir.name, 'clouds.yaml')
        with open(self.clouds_yaml, 'w') as f:
            f.write(textwrap.dedent('''\
                clouds:
                  billing:
                    regions: [RegionOne, RegionTwo]
                    identity_api_version: 3
                    auth:
                      auth_url: http://127.0.0.1:1/v3
                      username: billing-bot
                      project_name: admin
                      user_domain_name: Default
                      project_domain_name: Default
                '''))
        with open(os.path.join(self.dir.name, 'secure.yaml'), 'w') as f:
            f.write(textwrap.dedent('''\
                clouds:
                  billing:
                    auth:
                      password: from-secure-yaml
                '''))

    def test_secure_yaml_timeouts_region(self):
        conn = openstack.connect(
            'billing', region='RegionTwo', clouds_yaml=self.clouds_yaml,
            connect_timeout=3, read_timeout=7, connect_retries=1)
        self.assertEqual(
            conn.config.config['auth']['password'], 'from-secure-yaml')
        self.assertEqual(conn.config.region_name, 'RegionTwo')
        self.assertEqual(conn.session.timeout, (3, 7))
        self.assertEqual(conn.config.get_connect_retries('compute'), 1)
        self.assertIs(
            openstack.track_request_ids(conn),
            conn._cloud_billing_request_ids)

    def test_unknown_region(self):
        with self.assertRaises(openstack.RemoteError) as cm:
            openstack.connect(
                'billing', region='RegionX', clouds_yaml=self.clouds_yaml)
        self.assertIn('RegionX', cm.exception.message)

    def test_unknown_cloud(self):
        with self.assertRaises(openstack.RemoteError) as cm:
            openstack.connect('nope', clouds_yaml=self.clouds_yaml)
        self.assertEqual(cm.exception.result, FAILED)

    def test_unreachable_is_retry(self):
        conn = openstack.connect(
            'billing', clouds_yaml=self.clouds_yaml, connect_timeout=1,
            read_timeout=1, connect_retries=0)
        outcome, = openstack.shelve(
            conn, ['e0c8a1f4-0000-0000-0000-000000000000'], 'p')
        self.assertEqual(outcome.result, RETRY)

    def test_registered_factories(self):
        self.assertIs(
            openstack.CONNECTION_FACTORIES['openstacksdk'], openstack.connect)


class SecretsTestCase(unittest.TestCase):
    """No credential of the configuration leaves openstack.connect or a
    remote call: not in an error, an outcome nor a log line"""

    def setUp(self):
        import tempfile
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def assertNoLeak(self, text):
        self.assertEqual(leaks.leaks(text), [], text)

    def test_broken_secure_yaml(self):
        "A secure.yaml that does not parse: file and line, never its text"
        for broken in ['tag', 'alias', 'unterminated']:
            with self.subTest(broken=broken):
                clouds_yaml = leaks.write_config(
                    self.dir.name, 'http://127.0.0.1:1/v3', secure=broken)
                with leaks.capture_logs() as logs, \
                        self.assertRaises(openstack.RemoteError) as cm:
                    openstack.connect('billing', clouds_yaml=clouds_yaml)
                error = cm.exception
                self.assertEqual((error.result, error.connection),
                    (FAILED, True))
                self.assertEqual(error.message,
                    "The cloud configuration file %s is not valid YAML "
                    "(line %s); its content is not shown."
                    % (os.path.join(self.dir.name, 'secure.yaml'),
                        5 if broken == 'unterminated' else 4))
                self.assertIsNone(error.__cause__)
                self.assertNoLeak(logs.getvalue())

    def test_broken_secure_yaml_never_parsed_by_openstacksdk(self):
        "openstacksdk would log PyYAML's message, which quotes the tag"
        clouds_yaml = leaks.write_config(
            self.dir.name, 'http://127.0.0.1:1/v3', secure='tag')
        with leaks.capture_logs() as logs:
            with self.assertRaises(openstack.RemoteError):
                openstack.load_config(clouds_yaml)
        self.assertNotIn('Skipping config file', logs.getvalue())
        self.assertIn(leaks.PASSWORD, redaction.registered())

    def test_refused_token_echoing_the_password(self):
        "Keystone answers 401 quoting the request: the password is removed"
        with leaks.EchoKeystone() as keystone, \
                leaks.capture_logs() as logs:
            clouds_yaml = leaks.write_config(self.dir.name, keystone.url)
            conn = openstack.connect('billing', clouds_yaml=clouds_yaml,
                connect_timeout=2, read_timeout=2, connect_retries=0)
            with self.assertRaises(openstack.RemoteError) as cm:
                openstack.list_servers(conn, PROJECT)
            shelved, = openstack.shelve(conn, ['e0c8a1f4'], PROJECT)
            quota = openstack.quota_change(conn, PROJECT, {'cores': 2})
        # The echo did carry it: the test would see a leak.
        self.assertTrue(any(leaks.PASSWORD in r for r in keystone.requests))
        self.assertEqual(cm.exception.status_code, 401)
        self.assertIn('Rejected POST /v3/auth/tokens', cm.exception.message)
        self.assertEqual((shelved.result, quota.result), (FAILED, FAILED))
        for text in [cm.exception.message, str(cm.exception),
                shelved.error, json.dumps(shelved.as_dict()), quota.error,
                json.dumps(quota.as_dict()), logs.getvalue()]:
            self.assertNoLeak(text)

    def test_unreachable_auth_url_with_userinfo(self):
        "The password in the auth URL is not repeated by the failure"
        auth_url = 'http://billing-bot:%s@127.0.0.1:%s/v3' % (
            leaks.PASSWORD, leaks.closed_port())
        clouds_yaml = leaks.write_config(
            self.dir.name, auth_url, password='other-secret-9')
        with leaks.capture_logs() as logs:
            conn = openstack.connect('billing', clouds_yaml=clouds_yaml,
                connect_timeout=1, read_timeout=1, connect_retries=0)
            with self.assertRaises(openstack.RemoteError) as cm:
                openstack.list_servers(conn, PROJECT)
            outcome, = openstack.shelve(conn, ['e0c8a1f4'], PROJECT)
        self.assertEqual(cm.exception.result, RETRY)
        self.assertIn('127.0.0.1', cm.exception.message)
        for text in [cm.exception.message, outcome.error, logs.getvalue()]:
            self.assertNoLeak(text)
            self.assertNotIn('other-secret-9', text)

    def test_secrets_of_the_files(self):
        "Every value of secure.yaml, the secret keys and URL user info"
        self.assertEqual(sorted(set(openstack.data_secrets({
                            'clouds': {'c': {
                                    'auth': {
                                        'auth_url': 'https://u:pw1@h/v3',
                                        'username': 'bot',
                                        'application_credential_secret':
                                            'acs',
                                        'token': 'tok'},
                                    'region_name': 'R'}}}))),
            ['acs', 'pw1', 'tok', 'u:pw1'])
        self.assertEqual(sorted(set(openstack.data_secrets(
                        {'a': {'b': 'x', 'c': ['y', 3]}}, everything=True))),
            ['3', 'x', 'y'])
        self.assertEqual(sorted(set(openstack.text_secrets(textwrap.dedent('''\
                            # a comment: not a secret
                            clouds:
                              c:
                                auth:
                                  password: "never closed
                                  username: bot
                            ''')))),
            ['"never closed', 'never closed'])
