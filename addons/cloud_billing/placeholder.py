# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Texts with named placeholders, rendered without evaluating anything.

Finance writes the customer-facing texts of the billing emails. They are
plain text in which ``{name}`` stands for a value the module computes, the
name taken from a fixed list. Nothing else a brace may start is accepted:
no attribute access (``{amount.__class__}``), no index (``{a[0]}``), no
format spec or conversion (``{amount:>10}``, ``{amount!r}``), no positional
field (``{0}``), no escaped brace (``{{``), no Genshi (``${...}``,
``{% ... %}``). A text is checked when it is saved and again when it is
rendered; rendering is a lookup of the name in a mapping of strings, never
``str.format`` nor an evaluator, so a value is inserted as it is and never
read as a text again.

No ORM import: the models give the values, already formatted in the
customer's language, and turn ``PlaceholderError`` into their message.
"""
import re

__all__ = ['PLACEHOLDERS', 'PlaceholderError', 'check', 'render']

# The names a text may use, in the order the documentation lists them.
PLACEHOLDERS = (
    'customer', 'subscription', 'company', 'date', 'invoice_numbers',
    'overdue_amount', 'amount_to_pay', 'oldest_due_date', 'shelve_date',
    'deletion_date', 'restore_date', 'restore_deadline', 'deletion_note',
    'payment_line')

# A Genshi expression, a placeholder with what is between its braces, or a
# lone brace; scanned left to right, so "{{" is a lone brace.
_TOKEN = re.compile(r'\$\{|\{([^{}]*)\}|[{}]')
_NAME = re.compile(r'[a-z_][a-z0-9_]*')
_EXCERPT = 40
_LONE_EXCERPT = 12


class PlaceholderError(ValueError):
    """A text that is not plain text with known placeholders.

    ``reason`` is ``'expression'`` (a Genshi ``${``), ``'syntax'`` (a brace
    that does not open or close a bare name) or ``'unknown'`` (a name not in
    the list); ``position`` the 1-based character where it starts;
    ``excerpt`` the offending part (at most 40 characters; for a lone brace,
    the brace and what follows it on its line, at most 12); ``name`` the
    unknown name.
    """

    def __init__(self, reason, position, excerpt, name=None):
        self.reason = reason
        self.position = position
        self.excerpt = excerpt
        self.name = name
        super().__init__(
            f"{reason} at character {position}: {excerpt!r}")


def _excerpt(text, start, end):
    part = text[start:end]
    if len(part) > _EXCERPT:
        part = part[:_EXCERPT - 1] + '…'
    return part


def _placeholders(text, names):
    "Yield (start, end, name) of each placeholder; raise on anything else"
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        token = match.group(0)
        excerpt = _excerpt(text, start, end)
        if token == '${':
            # Report the whole expression when it is closed.
            close = text.find('}', end)
            if close >= 0:
                excerpt = _excerpt(text, start, close + 1)
            raise PlaceholderError('expression', start + 1, excerpt)
        name = match.group(1)
        if name is None:
            # A lone brace: show what follows it on its line.
            line_end = text.find('\n', start)
            excerpt = _excerpt(
                text, start, _LONE_EXCERPT + start if line_end < 0
                else min(line_end, _LONE_EXCERPT + start))
            raise PlaceholderError('syntax', start + 1, excerpt)
        if not _NAME.fullmatch(name):
            raise PlaceholderError('syntax', start + 1, excerpt)
        if name not in names:
            raise PlaceholderError('unknown', start + 1, excerpt, name=name)
        yield start, end, name


def check(text, names=PLACEHOLDERS):
    """The set of placeholder names the text uses.

    Raise ``PlaceholderError`` for a brace that is not ``{name}`` with a
    name of ``names``, or for a Genshi ``${``.
    """
    return {name for _, _, name in _placeholders(text or '', names)}


def render(text, values):
    """The text with each ``{name}`` replaced by ``values[name]``.

    ``values`` maps every name the text may use to a string (the names of
    ``values`` are the allowed ones). The values are inserted verbatim.
    Raise ``PlaceholderError`` as ``check`` does, and TypeError for a value
    that is not a string: nothing here formats or converts an object.
    """
    text = text or ''
    parts = []
    position = 0
    for start, end, name in _placeholders(text, values):
        value = values[name]
        if not isinstance(value, str):
            raise TypeError(
                f"the value of {name!r} must be str, not {type(value)}")
        parts.append(text[position:start])
        parts.append(value)
        position = end
    parts.append(text[position:])
    return ''.join(parts)
