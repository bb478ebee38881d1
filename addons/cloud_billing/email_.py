# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Branded customer emails of the grace workflow.

The texts are ``sale.subscription.billing_email.text`` records that finance
edits, plain text with ``{name}`` placeholders that nothing evaluates
(``email_text.py``, ``placeholder.py``); the recipients come from the
``ir.email.template`` of the kind, which only the administrator edits (its
Genshi subject and body serve the client's email dialog).
``sale.subscription.billing_email`` records each step mailed; its unique key
(subscription, kind, step) stops a second mail for the same step, and its
state follows the delivery of its ``ir.email`` (queued, sent, failed: see
``subscription_core/email_.py``, which tries a failed send again). The
rendering and sending is ``subscription_email.py``.
"""
from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from subscription_core.validation import InputMixin

from .exceptions import BillingEmailError

BILLING_EMAIL_KINDS = [
    ('reminder', "Payment Reminder"),
    ('shelved', "Shelved"),
    ('pre_deletion', "Pre-Deletion Warning"),
    ('deleted', "Deleted"),
    ('restored', "Restored"),
    ]


class EmailTemplate(metaclass=PoolMeta):
    __name__ = 'ir.email.template'

    billing_email_kind = fields.Selection(
        [(None, "")] + BILLING_EMAIL_KINDS, "Billing Email",
        help="The step of the grace workflow that sends this template "
        "to the customer of a subscription.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('billing_email_kind_unique', Unique(t, t.billing_email_kind),
                'cloud_billing.msg_billing_email_template_unique'),
            ]

    def get_context(self, record):
        """Add, for a billing template opened from the client's email dialog,
        the values the subscription knows (the workflow's left empty) and
        finance's text rendered with them as ``billing_subject`` and
        ``billing_body``."""
        pool = Pool()
        Lang = pool.get('ir.lang')
        Subscription = pool.get('sale.subscription')
        Text = pool.get('sale.subscription.billing_email.text')
        context = super().get_context(record)
        if (self.billing_email_kind
                and self.model.name == 'sale.subscription'):
            subscription = Subscription(int(record))
            values = subscription._billing_email_format({}, Lang.get())
            text = Text.get_for_kind(
                self.billing_email_kind, subscription.company)
            if text:
                subject, body = text.render(
                    subscription._billing_email_placeholders(values))
            else:
                subject = body = ''
            context.update(values)
            context['billing_subject'] = subject
            context['billing_body'] = body
        return context

    @classmethod
    def get_billing_template(cls, kind):
        "The template of the kind of billing email"
        templates = cls.search([
                ('billing_email_kind', '=', kind),
                ('model.name', '=', 'sale.subscription'),
                ], limit=1)
        if not templates:
            raise BillingEmailError(gettext(
                    'cloud_billing.msg_billing_email_no_template',
                    kind=dict(BILLING_EMAIL_KINDS).get(kind, kind)))
        template, = templates
        return template


class BillingEmail(InputMixin, ModelSQL, ModelView):
    "Billing Email"
    __name__ = 'sale.subscription.billing_email'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True, readonly=True,
        ondelete='CASCADE')
    kind = fields.Selection(
        BILLING_EMAIL_KINDS, "Kind", required=True, readonly=True)
    step_key = fields.Char(
        "Step", required=True, readonly=True,
        help="The workflow step that sent the email; one email per "
        "subscription, kind and step.")
    date = fields.Date("Date", required=True, readonly=True)
    state = fields.Selection([
            ('queued', "Queued"),
            ('sent', "Sent"),
            ('failed', "Failed"),
            ('no_recipient', "No Recipient"),
            ], "State", required=True, readonly=True, sort=False,
        help="Queued: to be handed to the mail server, by a task of its "
        "own after the step committed.\n"
        "Sent: the mail server accepted it.\n"
        "Failed: the mail server could not be reached or refused it; it is "
        "tried again at the next attempt (none left: the next call for "
        "the same step sends it again).\n"
        "No Recipient: the customer has no email address; the next call "
        "for the same step sends it once an address is set.")
    sent_date = fields.Date(
        "Delivered on", readonly=True,
        help="The day the mail server accepted it.")
    attempts = fields.Function(
        fields.Integer("Attempts"), 'get_delivery')
    last_error = fields.Function(
        fields.Char("Last Error"), 'get_delivery')
    next_attempt_at = fields.Function(
        fields.Timestamp("Next Attempt"), 'get_delivery')
    recipients = fields.Char("Recipients", readonly=True)
    subject = fields.Char("Subject", readonly=True)
    email = fields.Many2One(
        'ir.email', "Email", readonly=True, ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('step_unique', Unique(t, t.subscription, t.kind, t.step_key),
                'cloud_billing.msg_billing_email_step_unique'),
            ]
        cls._order.insert(0, ('date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))

    @classmethod
    def __register__(cls, module):
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        migrate = (backend.TableHandler.table_exist(cls._table)
            and not cls.__table_handler__(module).column_exist('sent_date'))
        super().__register__(module)
        # Migration from 8.0.0: an email sent was delivered on its date
        if migrate:
            cursor.execute(*table.update(
                    [table.sent_date], [table.date],
                    where=table.state == 'sent'))

    def get_rec_name(self, name):
        return '%s: %s (%s)' % (
            self.subscription.rec_name,
            dict(BILLING_EMAIL_KINDS)[self.kind], self.step_key)

    @classmethod
    def get_delivery(cls, records, names):
        "The delivery of the records' emails (ir.email)"
        fields_ = {
            'attempts': 'delivery_attempts',
            'last_error': 'delivery_error',
            'next_attempt_at': 'delivery_next_at',
            }
        result = {name: {} for name in names}
        with without_check_access():
            for record in cls.browse(records):
                email = record.email
                for name in names:
                    result[name][record.id] = (
                        getattr(email, fields_[name]) if email else None)
        return result

    def retry_pending(self):
        "Whether the delivery of this failed email is tried again"
        return bool(self.state == 'queued' or (self.state == 'failed'
                and self.email and self.email.delivery_next_at))


class Email(metaclass=PoolMeta):
    __name__ = 'ir.email'

    @classmethod
    def on_delivery(cls, sent, failed, date):
        "The billing emails follow the delivery of their emails"
        pool = Pool()
        BillingEmail = pool.get('sale.subscription.billing_email')
        super().on_delivery(sent, failed, date)
        to_write = []
        for emails, values in [
                (sent, {'state': 'sent', 'sent_date': date}),
                (failed, {'state': 'failed'}),
                ]:
            if not emails:
                continue
            records = BillingEmail.search([
                    ('email', 'in', [e.id for e in emails]),
                    ])
            if records:
                to_write.extend([records, values])
        if to_write:
            BillingEmail.write(*to_write)
