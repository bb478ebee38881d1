# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The texts finance edits for the billing emails, one per kind and company.

The texts without company (the module's data) are the defaults of the
companies that have none of their own for a kind.

Plain texts with ``{name}`` placeholders (``placeholder.py``): they are
checked when saved and rendered over the values the module computes, so
nothing finance writes is evaluated. The ``ir.email.template`` of a kind
(recipients, contact mechanism; Genshi, which evaluates expressions) stays
with the administrator.
"""
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pyson import Eval
from trytond.transaction import Transaction

from subscription_core.validation import InputMixin

from . import placeholder
from .email_ import BILLING_EMAIL_KINDS
from .exceptions import BillingEmailError, BillingEmailTextError

# The parts of a text, in the order of the email.
TEXT_FIELDS = ('subject', 'greeting', 'body', 'closing')
_PLACEHOLDERS_HELP = ', '.join('{%s}' % n for n in placeholder.PLACEHOLDERS)
_HELP = ("Plain text; {name} stands for a value, with a name of: "
    + _PLACEHOLDERS_HELP + ". No other braces.")


class BillingEmailText(InputMixin, ModelSQL, ModelView):
    "Billing Email Text"
    __name__ = 'sale.subscription.billing_email.text'

    company = fields.Many2One(
        'company.company', "Company", ondelete='CASCADE',
        states={'readonly': Eval('id', -1) >= 0},
        help="The company whose emails use the text; empty for the default "
        "text of the companies that have none of their own.")
    kind = fields.Selection(
        BILLING_EMAIL_KINDS, "Kind", required=True,
        states={'readonly': Eval('id', -1) >= 0},
        help="The step of the grace workflow that sends this text.")
    subject = fields.Char("Subject", required=True, translate=True,
        help=_HELP)
    greeting = fields.Char("Greeting", translate=True,
        help="The first paragraph, e.g. \"Dear {customer},\".\n" + _HELP)
    body = fields.Text("Body", required=True, translate=True,
        help="The paragraphs, separated by a blank line.\n" + _HELP)
    closing = fields.Text("Closing", translate=True,
        help="The last paragraph, e.g. \"Kind regards,\" and {company}; "
        "the company's footer of the branding follows it.\n" + _HELP)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Named after its kind (get_rec_name), found by its subject.
        cls._rec_name = 'subject'
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_kind_unique', Unique(t, t.company, t.kind),
                'cloud_billing.msg_billing_email_text_kind_unique'),
            ]
        cls._order.insert(0, ('id', 'ASC'))

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        super().__register__(module)
        # Migration from 8.0.0: the kind is unique per company
        table_h.drop_constraint('kind_unique')

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_rec_name(self, name):
        return dict(BILLING_EMAIL_KINDS).get(self.kind, self.kind or '')

    @classmethod
    def get_for_kind(cls, kind, company):
        "The text of the kind for company (its own or the default), or None"
        company_id = company.id if hasattr(company, 'id') else company
        texts = cls.search([
                ('kind', '=', kind),
                ('company', 'in', [company_id, None]),
                ])
        texts.sort(key=lambda t: t.company is None)
        return texts[0] if texts else None

    @classmethod
    def validate_fields(cls, texts, field_names):
        super().validate_fields(texts, field_names)
        cls.check_placeholders(texts, field_names)
        cls.check_default_unique(texts, field_names)

    @classmethod
    def check_default_unique(cls, texts, field_names=None):
        "One default text (without company) per kind: SQL lets NULLs repeat"
        if field_names and not (field_names & {'company', 'kind'}):
            return
        for text in texts:
            if not text.company and cls.search([
                        ('kind', '=', text.kind),
                        ('company', '=', None),
                        ('id', '!=', text.id),
                        ], limit=1):
                raise BillingEmailTextError(gettext(
                        'cloud_billing.msg_billing_email_text_kind_unique'))

    @classmethod
    def check_modification(cls, mode, texts, values=None, external=False):
        super().check_modification(
            mode, texts, values=values, external=external)
        if mode == 'write' and values.keys() & {'company', 'kind'}:
            raise BillingEmailTextError(gettext(
                    'cloud_billing.msg_billing_email_text_kind_change',
                    text=texts[0].rec_name if texts else ''))

    @classmethod
    def check_placeholders(cls, texts, field_names=None):
        "Only plain text and known placeholders"
        names = [n for n in TEXT_FIELDS
            if not field_names or n in field_names]
        for text in texts:
            for name in names:
                try:
                    placeholder.check(getattr(text, name))
                except placeholder.PlaceholderError as error:
                    raise BillingEmailTextError(
                        text.placeholder_message(name, error)) from error

    def placeholder_message(self, field, error):
        "The translated message of the PlaceholderError in the field"
        return gettext(
            'cloud_billing.msg_billing_email_text_%s' % error.reason,
            field=self.__names__(field)['field'],
            text=self.rec_name,
            excerpt=error.excerpt,
            position=error.position,
            name=error.name or '',
            names=_PLACEHOLDERS_HELP)

    def render(self, values):
        """The subject and the body with the values.

        ``values`` maps each name of ``placeholder.PLACEHOLDERS`` to a
        string. The body is the greeting, the body and the closing, a blank
        line between them. Raise ``BillingEmailError`` for a text that is
        not plain text with known placeholders (e.g. a translation written
        in Administration › Translations, which does not pass the check).
        """
        rendered = {}
        for name in TEXT_FIELDS:
            try:
                rendered[name] = placeholder.render(
                    getattr(self, name), values)
            except placeholder.PlaceholderError as error:
                raise BillingEmailError(
                    self.placeholder_message(name, error)) from error
        body = '\n\n'.join(rendered[name].strip('\n')
            for name in ['greeting', 'body', 'closing']
            if rendered[name].strip())
        return ' '.join(rendered['subject'].split()), body
