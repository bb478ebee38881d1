# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import trytond.config as config
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.transaction import Transaction

from . import openstack
from .exceptions import CloudConnectionError
from subscription_core import bounds
from subscription_core.validation import InputMixin, check_bounds

# Nova's reclaim_instance_interval, in seconds: up to a year.
RECLAIM = bounds.Bound(0, 366 * 24 * 60 * 60)


def get_option(name, type_=str, default=None):
    "An option of the [cloud_billing] section of the trytond configuration"
    getter = {
        str: config.get, int: config.getint, float: config.getfloat,
        }[type_]
    return getter('cloud_billing', name, default=default)


class Cloud(InputMixin, DeactivableMixin, ModelSQL, ModelView):
    "OpenStack Cloud"
    __name__ = 'cloud_billing.cloud'

    name = fields.Char("Name", required=True)
    entry = fields.Char(
        "clouds.yaml Entry", required=True, strip=True,
        help="The name of the cloud in the openstacksdk clouds.yaml of the "
        "server. Credentials stay in that file (and its secure.yaml), "
        "never in the database.")
    region = fields.Char(
        "Region", required=True, strip=True,
        help="The OpenStack region of this cloud, e.g. RegionOne.")
    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')
    reclaim_seconds = fields.Integer(
        "Reclaim Interval", required=True,
        help="Nova's reclaim_instance_interval of this cloud, in seconds "
        "(ask its operator: the API does not tell it). With a positive "
        "interval a deleted server is kept SOFT_DELETED and a payment "
        "restores it until then; 0: deletion is final.")
    shelve_keeps_host = fields.Boolean(
        "Shelved Servers Keep Their Host",
        help="Tick for a cloud whose Nova never offloads shelved servers "
        "(shelved_offload_time = -1): a shelve is then complete at SHELVED. "
        "Unticked (Nova's default), it is complete once the server is "
        "SHELVED_OFFLOADED and its host freed.")
    deletion_final = fields.Function(
        fields.Boolean("Deletion Is Final",
            help="The cloud has no reclaim interval: a deleted server "
            "cannot be restored."),
        'on_change_with_deletion_final')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('entry_region_company_unique',
                Unique(t, t.company, t.entry, t.region),
                'cloud_billing.msg_cloud_entry_region_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_reclaim_seconds(cls):
        return 0

    @classmethod
    def default_shelve_keeps_host(cls):
        return False

    @property
    def shelved_statuses(self):
        "The statuses at which a shelve of this cloud's servers is complete"
        if self.shelve_keeps_host:
            return openstack.SHELVED
        return openstack.SHELVED_OFFLOADED

    @fields.depends('reclaim_seconds')
    def on_change_with_deletion_final(self, name=None):
        return not self.reclaim_seconds or self.reclaim_seconds <= 0

    @classmethod
    def validate_fields(cls, clouds, field_names):
        super().validate_fields(clouds, field_names)
        check_bounds(clouds, field_names, {'reclaim_seconds': RECLAIM})

    def connect_once(self, connections):
        """This cloud's connection, kept in connections (a dict the caller
        holds for one run) so that it is made once; when it cannot be made,
        the CloudConnectionError, returned and not raised"""
        if self not in connections:
            try:
                connections[self] = self.connect()
            except CloudConnectionError as e:
                connections[self] = e
        return connections[self]

    def connect(self):
        """An openstacksdk Connection to this cloud's region

        The factory is openstacksdk's unless the context key
        ``cloud_billing_connection`` names another registered one
        (``openstack.register_connection_factory``, used by the tests).
        Raises CloudConnectionError when no connection can be built.
        """
        name = Transaction().context.get(
            'cloud_billing_connection') or 'openstacksdk'
        factory = openstack.CONNECTION_FACTORIES.get(name)
        if factory is None:
            raise CloudConnectionError(gettext(
                    'cloud_billing.msg_cloud_connection_factory',
                    cloud=self.rec_name, factory=name))
        try:
            return factory(
                self.entry, region=self.region,
                clouds_yaml=get_option('clouds_yaml') or None,
                connect_timeout=get_option(
                    'connect_timeout', float, openstack.CONNECT_TIMEOUT),
                read_timeout=get_option(
                    'read_timeout', float, openstack.READ_TIMEOUT),
                connect_retries=get_option(
                    'connect_retries', int, openstack.CONNECT_RETRIES))
        except openstack.RemoteError as e:
            raise CloudConnectionError(gettext(
                    'cloud_billing.msg_cloud_connection',
                    cloud=self.rec_name, error=e.message)) from e
