# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What the billing documents of a company share: credits, compensations
and billing actions are created in the user's company, and once a credit is
granted or a compensation applied, what its amounts were computed from is
frozen and the record cannot be deleted.
"""
from trytond.transaction import Transaction


def rec_name_domain(clause, names):
    """The domain of a search on rec_name over the fields names: any of
    them matches, or none for a negative operator"""
    _, operator, *_ = clause
    bool_op = 'AND' if operator.startswith('!') or operator.startswith(
        'not ') else 'OR'
    return [bool_op] + [(name,) + tuple(clause[1:]) for name in names]


class CompanyDocumentMixin:
    "A record of one company, created in the company of the user"
    __slots__ = ()

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')


class FrozenDocumentMixin(CompanyDocumentMixin):
    """Once the document leaves its editable states, the fields of
    ``_frozen_fields`` cannot change; it can be deleted only in
    ``_deletable_states``. ``_frozen_error(mode, record)`` gives the
    translated error of the model."""
    __slots__ = ()
    _editable_states = {'draft'}
    _deletable_states = {'draft'}
    _frozen_fields = set()

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete':
            states = cls._deletable_states
        elif mode == 'write' and values.keys() & cls._frozen_fields:
            states = cls._editable_states
        else:
            return
        for record in records:
            if record.state not in states:
                raise cls._frozen_error(mode, record)

    @classmethod
    def _frozen_error(cls, mode, record):
        raise NotImplementedError
