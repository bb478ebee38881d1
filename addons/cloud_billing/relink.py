# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Re-link a running subscription to another project, audited.

The cloud and project of a subscription are what the billing actions shelve
and delete: no client writes them once the subscription left draft (see
``Subscription._draft_fields``). A finance manager who must correct them
runs *Re-link Project*: it re-checks that the project belongs to no other
customer and that no billing action is under way, writes the link as the
server and records a ``cloud_billing.project_relink`` row (who, when, from,
to, why) that only this code creates.
"""
import datetime

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from subscription_core.audit import AuditTrailMixin
from subscription_core.validation import InputMixin, WizardInputMixin

from .exceptions import CloudProjectError

# The action states in which the subscription's project is being worked on
ACTION_STATES = ['planned', 'running', 'failed']


# Only the Re-link Project wizard writes re-link rows (audit.py)
class ProjectRelink(AuditTrailMixin, InputMixin, ModelSQL, ModelView):
    "Project Re-link"
    __name__ = 'cloud_billing.project_relink'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True, readonly=True,
        ondelete='RESTRICT')
    old_cloud = fields.Many2One(
        'cloud_billing.cloud', "Old Cloud", readonly=True,
        ondelete='RESTRICT')
    old_project_id = fields.Char("Old Project ID", readonly=True)
    cloud = fields.Many2One(
        'cloud_billing.cloud', "Cloud", required=True, readonly=True,
        ondelete='RESTRICT')
    project_id = fields.Char("Project ID", required=True, readonly=True)
    def get_rec_name(self, name):
        return '%s: %s → %s' % (
            self.subscription.rec_name, self.old_project_id or '',
            self.project_id)

    @classmethod
    def check_relink(cls, subscription, cloud, project_id):
        "Raise CloudProjectError unless subscription may bill the project"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Action = pool.get('sale.subscription.billing.action')
        if subscription.state != 'running':
            raise CloudProjectError(gettext(
                    'cloud_billing.msg_project_relink_running',
                    subscription=subscription.rec_name))
        if (cloud == subscription.cloud
                and project_id == subscription.project_id):
            raise CloudProjectError(gettext(
                    'cloud_billing.msg_project_relink_same',
                    subscription=subscription.rec_name, project=project_id))
        if cloud.company != subscription.company:
            raise CloudProjectError(gettext(
                    'cloud_billing.msg_project_relink_company',
                    subscription=subscription.rec_name,
                    cloud=cloud.rec_name))
        with without_check_access():
            actions = Action.search([
                    ('subscription', '=', subscription.id),
                    ('state', 'in', ACTION_STATES),
                    ], limit=1)
        if (actions or subscription.billing_status
                != Subscription.default_billing_status()):
            raise CloudProjectError(gettext(
                    'cloud_billing.msg_project_relink_actions',
                    subscription=subscription.rec_name))
        # The project belongs to the subscription's customer: no other
        # customer's subscription and no other live one links it.
        with without_check_access(), \
                Transaction().set_context(active_test=False):
            others = Subscription.search([
                    ('id', '!=', subscription.id),
                    ('cloud', '=', cloud.id),
                    ('project_id', '=', project_id),
                    ('state', '!=', 'cancelled'),
                    ], order=[('id', 'ASC')])
            # and the projects other subscriptions were re-linked from
            others += [r.subscription for r in cls.search([
                        ('old_cloud', '=', cloud.id),
                        ('old_project_id', '=', project_id),
                        ('subscription', '!=', subscription.id),
                        ], order=[('id', 'ASC')])]
        for other in others:
            if other.party != subscription.party or other.state != 'closed':
                raise CloudProjectError(gettext(
                        'cloud_billing.msg_project_relink_owned',
                        subscription=subscription.rec_name,
                        project=project_id, cloud=cloud.rec_name,
                        other=other.rec_name))

    @classmethod
    def relink(cls, subscription, cloud, project_id, reason):
        "Link the running subscription to project of cloud, for reason"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        if not reason or not reason.strip():
            raise CloudProjectError(gettext(
                    'cloud_billing.msg_project_relink_reason'))
        project_id = (project_id or '').strip()
        cls.check_relink(subscription, cloud, project_id)
        relink = cls(
            company=subscription.company, subscription=subscription,
            old_cloud=subscription.cloud,
            old_project_id=subscription.project_id,
            cloud=cloud, project_id=project_id, reason=reason.strip(),
            user=Transaction().user or None,
            date=datetime.datetime.now())
        with without_check_access():
            relink.save()
            Subscription.write([subscription], {
                    'cloud': cloud.id,
                    'project_id': project_id,
                    # The servers recorded were the old project's.
                    'cloud_synced_at': None,
                    'cloud_sync_error': None,
                    })
        return relink


class RelinkProjectStart(InputMixin, ModelView):
    "Re-link Project"
    __name__ = 'cloud_billing.relink_project.start'

    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True, readonly=True)
    company = fields.Many2One('company.company', "Company", readonly=True)
    old_cloud = fields.Many2One(
        'cloud_billing.cloud', "Current Cloud", readonly=True)
    old_project_id = fields.Char("Current Project ID", readonly=True)
    cloud = fields.Many2One(
        'cloud_billing.cloud', "Cloud", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ])
    project_id = fields.Char("Project ID", required=True, strip=True)
    reason = fields.Text("Reason", required=True)


class RelinkProject(WizardInputMixin, Wizard):
    "Re-link Project"
    __name__ = 'cloud_billing.relink_project'
    start = StateView('cloud_billing.relink_project.start',
        'cloud_billing.relink_project_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Re-link", 'relink', 'tryton-ok', default=True),
            ])
    relink = StateTransition()

    def default_start(self, fields):
        subscription = self.record
        if not subscription:
            raise CloudProjectError(gettext(
                    'cloud_billing.msg_relink_no_subscription'))
        return {
            'subscription': subscription.id,
            'company': subscription.company.id,
            'old_cloud': subscription.cloud.id if subscription.cloud else None,
            'old_project_id': subscription.project_id,
            'cloud': subscription.cloud.id if subscription.cloud else None,
            }

    def transition_relink(self):
        pool = Pool()
        ProjectRelink = pool.get('cloud_billing.project_relink')
        ProjectRelink.relink(
            self.record, self.start.cloud, self.start.project_id,
            self.start.reason)
        return 'end'
