# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The branded layout of the customer billing emails, as plain Python.

No ORM import: the models render the template text with the customer's
values and hand it here, which builds the two parts of the message:

* the plain-text part: the rendered text and the footer;
* the HTML part: the same text, escaped, in paragraphs, inside a table
  layout with the company logo, its primary colour and the footer (inline
  styles only, which is what mail clients keep), with the logo as an inline
  ``multipart/related`` image referenced by ``cid:``, which mail clients show
  without loading remote content (data URIs are blocked by several).
"""
import html
import re
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid

__all__ = ['DEFAULT_COLOR', 'LOGO_MAX_SIZE', 'normalize_color', 'text_color',
    'image_subtype', 'text_to_html', 'render_html', 'render_text',
    'build_message', 'new_cid', 'overdue_summary']

DEFAULT_COLOR = '#1f4e79'
LOGO_MAX_SIZE = 512 * 1024
_COLOR = re.compile(r'#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})')
_PARAGRAPHS = re.compile(r'\n(?:[ \t]*\n)+')
_IMAGE_SIGNATURES = [
    (b'\x89PNG\r\n\x1a\n', 'png'),
    (b'\xff\xd8\xff', 'jpeg'),
    (b'GIF87a', 'gif'),
    (b'GIF89a', 'gif'),
    ]


def normalize_color(value):
    """The colour as ``#rrggbb`` (lower case) from ``#rgb`` or ``#rrggbb``.

    Raise ValueError for anything else: the value goes into a style
    attribute, so nothing but a hex colour may pass.
    """
    value = (value or '').strip()
    if not _COLOR.fullmatch(value):
        raise ValueError(f"not a hex colour: {value!r}")
    value = value.lower()
    if len(value) == 4:
        value = '#' + ''.join(c * 2 for c in value[1:])
    return value


def _luminance(color):
    "WCAG 2 relative luminance of #rrggbb"
    def channel(hex_):
        c = int(hex_, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(color[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_color(background):
    "Black or white, whichever contrasts more with the background colour"
    lum = _luminance(normalize_color(background))
    on_white = (1.0 + 0.05) / (lum + 0.05)
    on_black = (lum + 0.05) / (0.0 + 0.05)
    return '#ffffff' if on_white >= on_black else '#000000'


def image_subtype(data):
    """The image subtype (png, jpeg, gif) of the bytes, or None.

    Only the formats every mail client displays inline; SVG is not one.
    """
    data = bytes(data or b'')
    for signature, subtype in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return subtype
    return None


def _normalize_newlines(text):
    return (text or '').replace('\r\n', '\n').replace('\r', '\n')


def text_to_html(text):
    """Escaped HTML paragraphs of plain text.

    A blank line separates paragraphs, a single newline is a line break.
    """
    text = _normalize_newlines(text).strip('\n')
    paragraphs = []
    for paragraph in _PARAGRAPHS.split(text):
        if not paragraph.strip():
            continue
        lines = [html.escape(line) for line in paragraph.split('\n')]
        paragraphs.append(
            '<p style="margin:0 0 1em 0">' + '<br/>\n'.join(lines) + '</p>')
    return '\n'.join(paragraphs)


def render_text(body, footer=''):
    "The plain-text part: the body, then the footer after the sig dashes"
    body = _PARAGRAPHS.sub('\n\n', _normalize_newlines(body).strip('\n'))
    footer = _PARAGRAPHS.sub(
        '\n\n', _normalize_newlines(footer).strip('\n'))
    if footer:
        return f'{body}\n\n-- \n{footer}\n'
    return f'{body}\n'


HTML_LAYOUT = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{title}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" \
border="0" style="background-color:#f4f5f7">
<tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" \
border="0" style="max-width:600px;width:100%;background-color:#ffffff">
<tr><td style="padding:20px 32px;{header_style};\
font-family:Arial,Helvetica,sans-serif;font-size:18px;font-weight:bold">\
{header}</td></tr>
<tr><td style="padding:24px 32px;color:#222222;\
font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5">
{body}
</td></tr>
<tr><td style="padding:16px 32px;border-top:1px solid {color};color:#666666;\
font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:1.4">
{footer}
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""


def render_html(subject, body, color=DEFAULT_COLOR, footer='',
        company='', logo_cid=None):
    """The HTML part: the escaped body in the branded layout.

    ``logo_cid`` is the Content-ID (with or without angle brackets) of the
    inline logo, shown on white above a band of the colour (logos are drawn
    for a white background); without it the header is the company name on
    the colour, in black or white for contrast.
    """
    color = normalize_color(color)
    if logo_cid:
        header_style = (
            f'background-color:#ffffff;border-bottom:6px solid {color}')
        header = ('<img src="cid:{cid}" alt="{alt}" height="48" '
            'style="display:block;height:48px;border:0"/>').format(
            cid=html.escape(logo_cid.strip('<>')),
            alt=html.escape(company))
    else:
        header_style = (
            f'background-color:{color};color:{text_color(color)}')
        header = html.escape(company)
    return HTML_LAYOUT.format(
        title=html.escape(subject),
        color=color,
        header_style=header_style,
        header=header,
        body=text_to_html(body),
        footer=text_to_html(footer))


def build_message(subject, text, html_, logo=None, logo_cid=None):
    """A multipart/alternative message: text/plain, then the HTML part.

    With a logo (bytes of a png, jpeg or gif image) the HTML part becomes
    multipart/related with the image inline under ``logo_cid``.
    Addresses are left to the caller.
    """
    msg = EmailMessage()
    msg['Subject'] = ' '.join((subject or '').split())
    msg.set_content(text, subtype='plain', cte='quoted-printable')
    msg.add_alternative(html_, subtype='html', cte='quoted-printable')
    if logo:
        subtype = image_subtype(logo)
        if not subtype:
            raise ValueError("the logo is not a png, jpeg or gif image")
        if not logo_cid:
            raise ValueError("an inline logo needs its Content-ID")
        if not logo_cid.startswith('<'):
            logo_cid = f'<{logo_cid}>'
        html_part = msg.get_payload()[1]
        html_part.add_related(
            bytes(logo), maintype='image', subtype=subtype, cid=logo_cid,
            disposition='inline', filename=f'logo.{subtype}')
    return msg


def new_cid(domain=None):
    "A fresh Content-ID without angle brackets"
    return make_msgid('logo', domain=domain).strip('<>')


def overdue_summary(lines):
    """The total and the oldest due date of the lines to pay.

    ``lines`` are ``(amount, due_date)`` pairs: amounts are Decimal (already
    in the currency's precision), a due date may be None. Returns
    ``(total, oldest)``; the caller rounds the total once with the currency.
    """
    total = Decimal(0)
    oldest = None
    for amount, due_date in lines:
        if not isinstance(amount, Decimal):
            raise TypeError(f"amount must be Decimal, not {type(amount)}")
        total += amount
        if due_date is not None and (oldest is None or due_date < oldest):
            oldest = due_date
    return total, oldest
