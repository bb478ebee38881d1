# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
import functools
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import openstack
from subscription_core.document import rec_name_domain
from subscription_core.validation import InputMixin

from .exceptions import CloudConnectionError, ResourceAccessError

# Actions of openstack.py that act on recorded servers
REMOTE_ACTIONS = {
    'shelve': openstack.shelve,
    'unshelve': openstack.unshelve,
    'delete': openstack.delete,
    'restore': openstack.restore,
    }


class Resource(InputMixin, ModelSQL, ModelView):
    "Cloud Resource"
    __name__ = 'cloud_billing.resource'

    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True, readonly=True,
        ondelete='RESTRICT')
    cloud = fields.Many2One(
        'cloud_billing.cloud', "Cloud", required=True, readonly=True,
        ondelete='RESTRICT')
    uuid = fields.Char("UUID", required=True, readonly=True,
        help="The Nova server UUID.")
    name = fields.Char("Name", readonly=True)
    project_id = fields.Char("Project ID", required=True, readonly=True)
    region = fields.Char("Region", readonly=True)
    flavor = fields.Char("Flavor", readonly=True)
    status = fields.Char("Status", readonly=True,
        help="The Nova status when last seen or acted on.")
    last_seen = fields.Timestamp("Last Seen", readonly=True,
        help="When a sync last found the server in Nova.")
    gone = fields.Boolean("Gone", readonly=True,
        help="Nova no longer lists the server. The record stays.\n"
        "A SOFT_DELETED server is not gone: it can be restored until the "
        "cloud reclaims it.")
    gone_since = fields.Timestamp("Gone Since", readonly=True)
    shelved_by_billing = fields.Boolean("Shelved by Billing", readonly=True,
        help="Billing shelved the server: unshelving restores only these.")
    shelved_by = fields.Selection([
            (None, ""),
            ('billing', "Billing"),
            ('manager', "Finance Manager"),
            ], "Shelved by", readonly=True, sort=False,
        help="Why the server was shelved:\n"
        "Billing: the grace workflow shelved it for a debt; a payment "
        "unshelves it.\n"
        "Finance Manager: a shelve planned by hand; a payment leaves it "
        "shelved.")
    shelve_action = fields.Many2One(
        'sale.subscription.billing.action', "Shelve Action", readonly=True,
        ondelete='SET NULL',
        states={
            'invisible': ~Eval('shelve_action'),
            },
        help="The billing action that shelved the server (its reason, who "
        "planned it).")
    company = fields.Function(
        fields.Many2One('company.company', "Company"),
        'get_company', searcher='search_company')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('cloud_uuid_unique', Unique(t, t.cloud, t.uuid),
                'cloud_billing.msg_resource_uuid_unique'),
            ]
        cls._order = [
            ('subscription', 'ASC'), ('gone', 'ASC'), ('name', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        migrate = not table_h.column_exist('shelved_by')
        super().__register__(module)
        # Migration from 8.0.x: the shelves recorded before are billing's
        if migrate:
            table = cls.__table__()
            Transaction().connection.cursor().execute(*table.update(
                    [table.shelved_by], ['billing'],
                    where=table.shelved_by_billing == True))  # noqa: E712

    # What a user may correct by hand; the rest is what Nova said, and the
    # remote actions act on the recorded uuid and project.
    _correctable_fields = {'shelved_by_billing'}

    @classmethod
    def check_modification(cls, mode, resources, values=None,
            external=False):
        super().check_modification(
            mode, resources, values=values, external=external)
        if (external and mode == 'write'
                and values.keys() - cls._correctable_fields):
            raise ResourceAccessError(gettext(
                    'cloud_billing.msg_resource_write',
                    fields=', '.join(sorted(
                            cls._fields[f].string
                            for f in values.keys() - cls._correctable_fields
                            if f in cls._fields))))

    @classmethod
    def default_gone(cls):
        return False

    @classmethod
    def default_shelved_by_billing(cls):
        return False

    def get_rec_name(self, name):
        return '%s (%s)' % (self.name or '', self.uuid)

    @classmethod
    def search_rec_name(cls, name, clause):
        return rec_name_domain(clause, ['name', 'uuid'])

    def get_company(self, name):
        return self.subscription.company.id

    @classmethod
    def search_company(cls, name, clause):
        return [('subscription.company',) + tuple(clause[1:])]

    @classmethod
    def record_servers(cls, subscription, servers, seen_at, confirm):
        """Record the servers Nova lists for the project of subscription

        servers: openstack.Server of the subscription's project. Recorded
        servers listed as DELETED are marked gone (never deleted), those
        SOFT_DELETED are not (they can be restored); those
        missing from the list are read again one by one with confirm(uuids)
        -> (gone uuids, {uuid: Server} present) (openstack.confirm_missing):
        a short or empty listing never means gone.
        """
        cloud = subscription.cloud
        uuids = [s.id for s in servers]
        known = cls.search([
                ('cloud', '=', cloud.id),
                ['OR',
                    ('uuid', 'in', uuids),
                    [
                        ('subscription', '=', subscription.id),
                        ('project_id', '=', subscription.project_id),
                        ('gone', '=', False),
                        ],
                    ],
                ])
        by_uuid = {r.uuid: r for r in known}
        listed = set(uuids)
        missing = [u for u, r in by_uuid.items()
            if u not in listed and not r.gone]
        confirmed_gone, present = (
            confirm(missing) if missing else (set(), {}))
        servers = list(servers) + list(present.values())
        to_save = []
        for server in servers:
            resource = by_uuid.pop(server.id, None)
            if resource is None:
                resource = cls(cloud=cloud, uuid=server.id, gone=False)
            resource.subscription = subscription
            resource.name = server.name
            resource.project_id = server.project_id
            resource.region = cloud.region
            resource.flavor = server.flavor
            resource.status = server.status
            resource.last_seen = seen_at
            # Nova lists a deleted server for a moment before forgetting it;
            # a soft-deleted one stays until reclaimed, restorable.
            gone = server.status in openstack.GONE_STATUSES
            if not gone:
                resource.gone_since = None
            elif not resource.gone:
                resource.gone_since = seen_at
            resource.gone = gone
            to_save.append(resource)
        for uuid, resource in by_uuid.items():
            if uuid in confirmed_gone:
                resource.gone = True
                resource.gone_since = seen_at
                to_save.append(resource)
        cls.save(to_save)
        return to_save

    @classmethod
    def record_outcomes(cls, resources, outcomes, date=None, action=None):
        """Record on resources what openstack's server actions did

        The status, gone, and why a server is shelved: action is the
        billing action that ran (None: billing). A shelve that billing's
        scheduler ran marks the servers it shelved (accepted or may have
        been: sent) shelved_by_billing, those a payment unshelves; a shelve
        a finance manager planned by hand takes the servers it shelved or
        found shelved (shelved_by 'manager'): a payment leaves them. Both
        cleared once unshelved.
        """
        if date is None:
            date = datetime.datetime.now()
        by_hand = bool(action and action.actor == 'user')
        by_uuid = {o.server_id: o for o in outcomes}
        to_save = []
        for resource in resources:
            outcome = by_uuid.get(resource.uuid)
            if outcome is None:
                continue
            if outcome.status:
                resource.status = outcome.status
            shelved = outcome.result == openstack.DONE or outcome.sent
            if outcome.action == 'shelve' and (shelved or (
                        by_hand and outcome.result == openstack.ALREADY)):
                resource.shelved_by_billing = not by_hand
                resource.shelved_by = 'manager' if by_hand else 'billing'
                resource.shelve_action = action
            elif outcome.action == 'unshelve' and outcome.result in {
                    openstack.DONE, openstack.ALREADY}:
                resource.shelved_by_billing = False
                resource.shelved_by = None
                resource.shelve_action = None
            if outcome.status == 'DELETED' and outcome.result in {
                    openstack.DONE, openstack.ALREADY, openstack.GONE}:
                if not resource.gone:
                    resource.gone_since = date
                resource.gone = True
            to_save.append(resource)
        cls.save(to_save)

    @classmethod
    def remote_action(cls, resources, action, wait=None,
            interval=openstack.POLL_INTERVAL, billing_action=None,
            before=None):
        """Run the openstack action on recorded resources, record outcomes

        action: 'shelve', 'unshelve', 'delete' or 'restore'. Each server
        is checked against the project it was recorded in; unshelve acts
        only on resources billing shelved, or a finance manager when the
        billing action was planned by hand. billing_action: the billing
        action that runs it (who shelves, see record_outcomes). Returns
        {resource: ServerOutcome}.
        The remote calls are slow: call this from an ir.queue task.
        before(server_id) (delete only) is asked before each server: a text
        stops the deletion there (openstack.delete).
        """
        function = REMOTE_ACTIONS[action]
        if before is not None:
            function = functools.partial(function, before=before)
        cloud_options = None
        if action == 'shelve':
            def cloud_options(cloud):
                return {'target': cloud.shelved_statuses}
        return cls._remote(resources, action, function, billing_action,
            cloud_options=cloud_options, wait=wait, interval=interval)

    @classmethod
    def remote_state(cls, resources, action, billing_action=None):
        """Read again where the servers of resources are for action and
        record it (openstack.read_state); nothing is sent

        For a shelve, a server found shelved that was recorded running was
        shelved by the lost attempt: it is marked billing's (sent).
        Returns {resource: ServerOutcome}.
        """
        shelvable = {r.uuid for r in resources
            if r.status in openstack.SHELVABLE}

        def read(conn, uuids, project_id):
            outcomes = openstack.read_state(conn, uuids, project_id, action)
            for outcome in outcomes:
                if (action == 'shelve' and outcome.result == openstack.ALREADY
                        and outcome.server_id in shelvable):
                    outcome.sent = True
            return outcomes
        return cls._remote(resources, action, read, billing_action)

    @classmethod
    def _remote(cls, resources, action, function, billing_action=None,
            cloud_options=None, **options):
        """Call function per cloud and project of resources, record outcomes

        cloud_options(cloud), when given, adds the options of each cloud."""
        if action == 'unshelve':
            by_hand = bool(
                billing_action and billing_action.actor == 'user')
            resources = [r for r in resources if r.shelved_by_billing
                or (by_hand and r.shelved_by == 'manager')]
        groups = defaultdict(list)
        for resource in resources:
            groups[(resource.cloud, resource.project_id)].append(resource)
        result = {}
        connections = {}
        for (cloud, project_id), group in groups.items():
            uuids = [r.uuid for r in group]
            conn = cloud.connect_once(connections)
            if isinstance(conn, CloudConnectionError):
                outcomes = [openstack.ServerOutcome(
                        server_id=u, action=action, result=openstack.FAILED,
                        error=conn.message)
                    for u in uuids]
            else:
                if cloud_options is not None:
                    outcomes = function(conn, uuids, project_id,
                        **options, **cloud_options(cloud))
                else:
                    outcomes = function(conn, uuids, project_id, **options)
            cls.record_outcomes(group, outcomes, action=billing_action)
            result.update(zip(group, outcomes))
        return result
