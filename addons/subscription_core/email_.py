# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Emails that are delivered once, and tried again until they are.

The billing emails (the grace workflow's, ``cloud_billing``) and the emails
of the dunning ladder are logged in Tryton's ``ir.email`` with their
message, and handed to the mail server by a queued task of their own
(``ir.email.deliver``, queue ``email_delivery``) after the transaction that
made them committed. Each log records its delivery (*Queued*, *Sent*,
*Failed*), the attempts made, the last error (credentials removed) and the
next attempt. A send that fails is tried again by a scheduled job
(``ir.email|send_failed_emails``) after a delay that grows with the
attempts (``delivery.py``), until it is sent or no attempt is left. The
task locks the log and skips one that is sent: an email is handed over at
most once per log, except when the database commit after the mail
server's acceptance fails (then the next attempt sends it again, with the
same Message-ID).
"""
import email
import email.policy
import email.utils
import logging
from urllib.parse import unquote_plus

import trytond.config as config
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.sendmail import get_smtp_server, send_message
from trytond.transaction import Transaction, without_check_access
from trytond.url import host

from . import delivery
from .action_run import lock_for_update, queue_context
from .ir import server_now
from .redaction import redact, registered
from .validation import InputMixin

logger = logging.getLogger(__name__)

# A queued email whose task did not run within this long is queued again
# by the job (a task lost with its queue).
QUEUED_TIMEOUT = delivery.BACKOFF[1]
DELIVERY_QUEUE = 'email_delivery'


class Email(InputMixin, metaclass=PoolMeta):
    __name__ = 'ir.email'

    delivery_state = fields.Selection([
            (None, ""),
            ('queued', "Queued"),
            ('sent', "Sent"),
            ('failed', "Failed"),
            ], "Delivery", readonly=True, sort=False,
        help="Queued: to be handed to the mail server.\n"
        "Sent: the mail server accepted it.\n"
        "Failed: the mail server could not be reached or refused it; "
        "it is tried again at the next attempt, if any.\n"
        "Empty: sent by Tryton itself, not followed.")
    delivery_attempts = fields.Integer("Attempts", readonly=True)
    delivery_error = fields.Char("Last Error", readonly=True)
    delivery_next_at = fields.Timestamp(
        "Next Attempt", readonly=True,
        help="Empty on a failed email: no attempt is left.")
    delivered_at = fields.Timestamp("Delivered at", readonly=True)
    delivered_on = fields.Date(
        "Delivered on", readonly=True,
        help="The day of the job that handed it to the mail server.")
    delivery_message = fields.Binary(
        "Message", readonly=True,
        help="The message as it is handed to the mail server.")

    @classmethod
    def default_delivery_attempts(cls):
        return 0

    @classmethod
    def send_later(cls, pairs, date):
        """Log the messages and queue their delivery

        ``pairs`` lists ``(email, msg)``: an unsaved ``ir.email`` (from
        ``from_message``) and its ``EmailMessage``. Each is delivered by a
        task of its own after the commit (``deliver``); nothing is sent
        before. Return the saved emails.
        """
        emails = []
        for record, msg in pairs:
            if not msg['Message-ID']:
                msg['Message-ID'] = email.utils.make_msgid(domain=host())
            record.message_id = msg['Message-ID']
            record.delivery_state = 'queued'
            record.delivery_attempts = 0
            record.delivery_message = msg.as_bytes(
                policy=email.policy.SMTP)
            emails.append(record)
        with without_check_access():
            cls.save(emails)
        cls.queue_delivery(emails, date)
        return emails

    @classmethod
    def queue_delivery(cls, emails, date):
        "Queue the delivery of each email in a task of its own"
        with queue_context(DELIVERY_QUEUE):
            for record in emails:
                cls.__queue__.deliver([record], date)

    @classmethod
    def deliver(cls, emails, date):
        """Queued task: hand the due emails to the mail server

        An email sent already, or failed with its next attempt to come, is
        skipped: a task queued twice sends once. A send that fails records
        the attempt, the error and the next attempt.
        """
        now = server_now()
        with without_check_access():
            lock_for_update(cls, emails)
            emails = cls.browse([e.id for e in emails])
            due = [e for e in emails if delivery.is_due(
                    e.delivery_state, e.delivery_next_at, now)]
            if not due:
                return
            sent, failed = [], []
            server = None
            for record in due:
                msg = email.message_from_bytes(
                    record.delivery_message, policy=email.policy.default)
                try:
                    if server is None:
                        server = get_smtp_server(strict=True)
                    server = send_message(
                        msg, server=server, strict=True) or server
                except Exception as exception:
                    error = _error_text(exception)
                    logger.warning(
                        "email %s not delivered: %s", record.id, error)
                    failed.append((record, error))
                    server = _close(server)
                else:
                    sent.append(record)
            _close(server, quit=True)
            cls._record_attempts(sent, failed, now, date)

    @classmethod
    def _record_attempts(cls, sent, failed, now, date):
        to_write = []
        if sent:
            for record in sent:
                to_write.extend([[record], {
                            'delivery_state': 'sent',
                            'delivery_attempts': record.delivery_attempts + 1,
                            'delivery_error': None,
                            'delivery_next_at': None,
                            'delivered_at': now,
                            'delivered_on': date,
                            }])
        for record, error in failed:
            attempts = (record.delivery_attempts or 0) + 1
            to_write.extend([[record], {
                        'delivery_state': 'failed',
                        'delivery_attempts': attempts,
                        'delivery_error': error,
                        'delivery_next_at': delivery.next_attempt_at(
                            now, attempts),
                        }])
        if to_write:
            cls.write(*to_write)
        cls.on_delivery(sent, [r for r, _ in failed], date)

    @classmethod
    def on_delivery(cls, sent, failed, date):
        """Hook: the emails sent and failed by an attempt on date (the
        overlays follow their own records of them)"""

    # Scheduled job.
    @classmethod
    def send_failed_emails(cls, date=None):
        """Queue the delivery of the failed emails whose next attempt is due
        (and of the queued ones whose task was lost)

        Return the emails queued.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        now = server_now()
        with without_check_access():
            emails = cls.search(['OR', [
                        ('delivery_state', '=', 'failed'),
                        ('delivery_next_at', '<=', now),
                        ], [
                        ('delivery_state', '=', 'queued'),
                        ('create_date', '<=', now - QUEUED_TIMEOUT),
                        ]], order=[('id', 'ASC')])
        cls.queue_delivery(emails, date)
        return emails


def _error_text(exception):
    "The error of a send, without the mail server's credentials"
    uri = config.parse_uri(config.get('email', 'uri'))
    secrets = set(registered()) | {
        unquote_plus(v) for v in (uri.username, uri.password) if v}
    return redact('%s: %s' % (type(exception).__name__, exception),
        secrets=secrets, limit=500)


def _close(server, quit=False):
    "Close the connection to the mail server, if any; return None"
    if server is not None:
        try:
            server.quit() if quit else server.close()
        except Exception:
            pass
    return None
