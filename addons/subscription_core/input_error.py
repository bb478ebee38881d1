# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Input that cannot be read, in plain Python (no ORM import)

The parsers of the routes and imports (``billing_usage.payload``,
``billing_usage.row_query``, ``cloud_pricing.price_request``) raise a
``CodedInputError``: its ``code`` names the rule that refused the input and
its ``params`` the values the translated message quotes (the models turn it
into ``<module>.msg_<prefix>_<code>``). ``short`` bounds what a message
quotes of a hostile value.
"""

__all__ = ['CodedInputError', 'short']


class CodedInputError(ValueError):
    "An input that cannot be read; code names the rule, params its values"

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def short(value, size=40, quote=False):
    """value as a text of at most size characters (and an ellipsis): its
    str, or its repr when quote"""
    text = repr(value) if quote else str(value)
    return text if len(text) <= size else text[:size] + '…'
