# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class BillingError(UserError):
    pass


class LimitChangeError(ValidationError):
    pass


class BillingActionError(UserError):
    pass


class CreditError(ValidationError):
    pass


class CompensationError(ValidationError):
    pass
