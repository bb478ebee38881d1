# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The billing emails a subscription sends (grace workflow).

``Subscription.send_billing_email`` renders the text of a kind
(``email_text.py``, ``placeholder.py``) for a subscription with the values
the workflow passes, wraps it in the company's branded layout
(``email_layout.py``), logs it in ``ir.email`` with its delivery queued
(``ir.email.send_later``: a task of its own hands it to the mail server
after the commit and a failed send is tried again until it is sent) and
records the step in ``sale.subscription.billing_email`` (``email_.py``)
whose unique key (subscription, kind, step) stops a second mail for the
same step.
"""
import datetime
import logging
from decimal import Decimal

import trytond.config as config
from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.tools.email_ import has_rcpt, set_from_header
from trytond.transaction import Transaction
from trytond.url import host

from . import email_layout, grace, placeholder
from .email_ import BILLING_EMAIL_KINDS
from .exceptions import BillingEmailError

logger = logging.getLogger(__name__)

# The values the caller must give (after the defaults) per kind.
REQUIRED_VALUES = {
    'reminder': ('invoice_numbers', 'overdue_amount', 'oldest_due_date',
        'shelve_date'),
    'shelved': ('invoice_numbers', 'overdue_amount', 'shelve_date',
        'deletion_date'),
    'pre_deletion': ('invoice_numbers', 'overdue_amount', 'deletion_date'),
    'deleted': ('invoice_numbers', 'overdue_amount', 'deletion_date'),
    'restored': ('restore_date',),
    }
# The date value that defaults to the day of the email per kind.
DATE_OF_EMAIL = {
    'shelved': 'shelve_date',
    'deleted': 'deletion_date',
    'restored': 'restore_date',
    }
# The kinds that tell whether the deleted servers can be restored
# (restore_deadline, deletion_note).
DELETION_KINDS = {'pre_deletion', 'deleted'}


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    billing_email_party = fields.Function(
        fields.Many2One(
            'party.party', "Billing Email Party",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'get_billing_email_party')

    def get_billing_email_party(self, name):
        "The party the billing emails go to: the invoice party, or the party"
        party = self.invoice_party or self.party
        return party.id if party else None

    def send_billing_email(self, kind, step_key, values=None, date=None):
        """Send the billing email of the kind for the workflow step.

        Return the ``sale.subscription.billing_email`` record, or None when
        this step was already mailed. See ``send_billing_emails``.
        """
        records = self.send_billing_emails(
            [(self, kind, step_key, values)], date=date)
        return records[0] if records else None

    @classmethod
    def send_billing_emails(cls, requests, date=None):
        """Send the billing emails of workflow steps, at most once per step.

        ``requests`` is a list of ``(subscription, kind, step_key, values)``;
        ``kind`` one of ``BILLING_EMAIL_KINDS``; ``step_key`` a string that
        names the step (e.g. the due date it is about), ``values`` a dict for
        the template (see ``get_billing_email``).

        The messages are logged in ``ir.email`` and queued: each is handed
        to the mail server by a task of its own after the commit, and a
        send that fails is tried again until it is sent
        (``subscription_core/email_.py``); the record follows (queued,
        sent, failed). A step sent, queued or failed with an attempt to
        come is skipped; a step whose customer had no email address, or
        whose delivery was given up, is sent again.
        Return the new ``sale.subscription.billing_email`` records.
        """
        pool = Pool()
        BillingEmail = pool.get('sale.subscription.billing_email')
        Email = pool.get('ir.email')
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        requests = list(requests)
        kinds = dict(BILLING_EMAIL_KINDS)
        for _, kind, step_key, _ in requests:
            if kind not in kinds:
                raise BillingEmailError(gettext(
                        'cloud_billing.msg_billing_email_kind', kind=kind))
            if not step_key:
                raise BillingEmailError(gettext(
                        'cloud_billing.msg_billing_email_step_key'))

        previous = {}
        subscription_ids = list({int(r[0]) for r in requests})
        step_keys = list({str(r[2]) for r in requests})
        for sub_ids in grouped_slice(
                subscription_ids, backend.MAX_QUERY_PARAMS // 4):
            for record in BillingEmail.search([
                        ('subscription', 'in', list(sub_ids)),
                        ('step_key', 'in', step_keys),
                        ]):
                previous[(record.subscription.id, record.kind,
                        record.step_key)] = record

        to_delete, records, emails, messages = [], [], [], []
        seen = set()
        for subscription, kind, step_key, values in requests:
            key = (subscription.id, kind, str(step_key))
            if key in seen:
                continue
            seen.add(key)
            if key in previous:
                if (previous[key].state == 'sent'
                        or previous[key].retry_pending()):
                    continue
                to_delete.append(previous[key])
            msg, body = subscription.get_billing_email(
                kind, values, date=date)
            record = BillingEmail(
                company=subscription.company,
                subscription=subscription,
                kind=kind,
                step_key=str(step_key),
                date=date,
                subject=msg['Subject'])
            if has_rcpt(msg):
                record.state = 'queued'
                record.recipients = msg['To']
                emails.append(Email.from_message(
                        msg, body=body, resource=subscription))
                messages.append(msg)
            else:
                record.state = 'no_recipient'
                emails.append(None)
                logger.warning(
                    "billing email %s/%s of subscription %s not sent: "
                    "%s has no email address", kind, step_key,
                    subscription.rec_name,
                    subscription.billing_email_party.rec_name)
            records.append(record)

        BillingEmail.delete(to_delete)
        Email.send_later(
            [(e, m) for e, m in zip(filter(None, emails), messages)], date)
        for record, email in zip(records, emails):
            record.email = email
        # The unique key stops a second worker racing on the same step: its
        # transaction fails here, and its deliveries are never queued.
        BillingEmail.save(records)
        return records

    def get_billing_email(self, kind, values=None, date=None):
        """Render the billing email of the kind without sending it.

        Return ``(message, body)``: an ``EmailMessage`` (multipart/
        alternative text and HTML, the logo inline) with From, To, Cc, Bcc
        and Subject set, and the HTML of the body for the ``ir.email`` log.
        The subject and the body are finance's text of the kind (placeholders
        only, see ``placeholder.py``); the recipients those of the
        administrator's ``ir.email.template`` of the kind, whose subject and
        body are not rendered here.

        ``values`` (all optional unless the kind needs them, see
        ``REQUIRED_VALUES``): ``invoices`` (the overdue ``account.invoice``
        records), ``invoice_numbers``, ``overdue_amount`` and
        ``amount_to_pay`` (Decimal, rounded to the currency),
        ``oldest_due_date`` (these four default from the invoices),
        ``shelve_date``, ``deletion_date``, ``restore_date``,
        ``restore_deadline`` (dates; the pre-deletion and deleted emails
        compute the deadline from the cloud's reclaim interval, None when
        deletion is final, and say which in ``deletion_note``);
        the text sees them formatted in the customer's language (amounts
        with the currency).
        """
        pool = Pool()
        Template = pool.get('ir.email.template')
        Text = pool.get('sale.subscription.billing_email.text')
        Branding = pool.get('sale.subscription.billing_email.branding')
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()

        template = Template.get_billing_template(kind)
        text = Text.get_for_kind(kind, self.company)
        if not text:
            raise BillingEmailError(gettext(
                    'cloud_billing.msg_billing_email_no_text',
                    kind=dict(BILLING_EMAIL_KINDS).get(kind, kind)))
        party = self.billing_email_party
        with Transaction().set_context(usage=template.contact_mechanism):
            lang, = Template.get_languages(party)[:1]
        raw = self._billing_email_raw_values(kind, values or {}, date)
        with Transaction().set_context(language=lang.code):
            subscription = self.__class__(self.id)
            branding = Branding.get_for_company(subscription.company)
            formatted = subscription._billing_email_format(raw, lang)
            layout = branding.get_layout(
                subscription.company.party.rec_name)
            # The envelope only: the template's Genshi subject and body are
            # not rendered.
            envelope = Template(template.id)
            envelope.subject = envelope.body = None
            rendered = envelope.get(subscription)
            rendered['subject'], rendered['body'] = Text(text.id).render(
                subscription._billing_email_placeholders(formatted))
            email_from = branding.email_from
        return self._billing_email_message(rendered, layout, email_from)

    def _billing_email_raw_values(self, kind, values, date):
        "The caller's values completed with what the subscription knows"
        raw = dict(values)
        raw.setdefault('date', date)
        if DATE_OF_EMAIL.get(kind):
            raw.setdefault(DATE_OF_EMAIL[kind], date)
        if kind in DELETION_KINDS and self.cloud:
            # None when the cloud has no reclaim interval: deletion is final.
            raw.setdefault('restore_deadline', grace.restore_deadline(
                    raw.get('deletion_date') or date,
                    self.cloud_deletion_reclaim_seconds()))
        invoices = raw.get('invoices') or []
        if invoices:
            for invoice in invoices:
                if invoice.currency != self.currency:
                    raise BillingEmailError(gettext(
                            'cloud_billing.msg_billing_email_currency',
                            invoice=invoice.rec_name,
                            subscription=self.rec_name))
            total, oldest = email_layout.overdue_summary(
                (invoice.amount_to_pay, min(
                        (line.maturity_date for line in invoice.lines_to_pay
                            if not line.reconciliation and line.maturity_date),
                        default=None))
                for invoice in invoices)
            raw.setdefault('overdue_amount', total)
            raw.setdefault('oldest_due_date', oldest)
            raw.setdefault('invoice_numbers',
                [i.number or i.rec_name for i in invoices])
        if raw.get('overdue_amount') is not None:
            raw.setdefault('amount_to_pay', raw['overdue_amount'])
        for name in ['overdue_amount', 'amount_to_pay']:
            if raw.get(name) is not None:
                raw[name] = self.currency.round(raw[name])
        missing = [name for name in REQUIRED_VALUES[kind]
            if raw.get(name) in (None, '', [])]
        if missing:
            raise BillingEmailError(gettext(
                    'cloud_billing.msg_billing_email_missing_value',
                    kind=dict(BILLING_EMAIL_KINDS)[kind],
                    subscription=self.rec_name,
                    values=', '.join(missing)))
        return raw

    def _billing_email_format(self, raw, lang):
        """The values as text in the language, by name

        Every name of ``placeholder.PLACEHOLDERS`` (empty when unknown),
        the caller's other keys, and the originals under ``raw`` (for the
        administrator's Genshi templates).
        """
        pool = Pool()
        Branding = pool.get('sale.subscription.billing_email.branding')
        party = self.billing_email_party
        branding = Branding.get_for_company(self.company)
        formatted = {name: '' for name in placeholder.PLACEHOLDERS}
        formatted.update({
                'customer': party.rec_name if party else '',
                'subscription': self.rec_name,
                'company': self.company.party.rec_name,
                'payment_line': branding.payment_line or '',
                })
        for name, value in raw.items():
            formatted[name] = self._billing_email_format_value(value, lang)
        if 'restore_deadline' in raw:
            formatted['deletion_note'] = (gettext(
                    'cloud_billing.msg_email_deletion_restorable',
                    date=formatted['restore_deadline'])
                if raw['restore_deadline'] else gettext(
                    'cloud_billing.msg_email_deletion_final'))
        formatted['raw'] = raw
        return formatted

    @staticmethod
    def _billing_email_placeholders(formatted):
        "The strings of the placeholders of the texts"
        return {name: formatted[name] for name in placeholder.PLACEHOLDERS}

    def _billing_email_format_value(self, value, lang):
        if value is None:
            return ''
        if isinstance(value, Decimal):
            return lang.currency(value, self.currency, symbol=True,
                grouping=True)
        if isinstance(value, datetime.datetime):
            return lang.strftime(value, '%s %%H:%%M' % lang.date)
        if isinstance(value, datetime.date):
            return lang.strftime(value)
        if isinstance(value, (list, tuple)):
            return ', '.join(
                self._billing_email_format_value(v, lang) for v in value)
        if isinstance(value, ModelSQL):
            return value.rec_name
        return str(value)

    def _billing_email_message(self, rendered, layout, email_from):
        subject = rendered.get('subject', '')
        body = rendered.get('body', '')
        cid = email_layout.new_cid(host()) if layout['logo'] else None
        text = email_layout.render_text(body, layout['footer'])
        html_ = email_layout.render_html(
            subject, body, color=layout['color'], footer=layout['footer'],
            company=layout['company'], logo_cid=cid)
        msg = email_layout.build_message(
            subject, text, html_, logo=layout['logo'], logo_cid=cid)
        sender = config.get('email', 'from')
        set_from_header(msg, sender, email_from or sender)
        for key, header in [('to', 'To'), ('cc', 'Cc'), ('bcc', 'Bcc')]:
            if rendered.get(key):
                msg[header] = ', '.join(rendered[key])
        msg['Auto-Submitted'] = 'auto-generated'
        return msg, email_layout.text_to_html(body)
