# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.model.exceptions import AccessError


class BillingError(UserError):
    pass


class BillingRunDateError(UserError):
    pass


class LimitChangeError(ValidationError):
    pass


class SubscriptionLineError(ValidationError):
    "A line of a subscription that cannot be billed"


class PrepaidEndDateError(ValidationError):
    "A prepaid subscription without the end date of its term"


class BillingActionError(UserError):
    pass


class CreditError(ValidationError):
    pass


class CompensationError(ValidationError):
    pass


class BillingStatusError(AccessError):
    "The billing status was written outside a billing action"
    pass


class BillingActionAccessError(AccessError):
    pass


class ModuleRecordAccessError(AccessError):
    "A client created, changed or deleted a record only the module writes"
    pass


class GuardedFieldError(AccessError):
    "A client wrote a field that only the server's own code changes"
    pass


class AutomationHoldError(UserError):
    pass


class BillingActionOutcome(Exception):
    """Raised by ``BillingAction._execute_<type>()`` to report an outcome

    ``message`` is stored as the action's last error and ``external_ref``
    (e.g. the OpenStack request id), when given, on the action.
    """

    def __init__(self, message, external_ref=None):
        super().__init__(message)
        self.message = message
        self.external_ref = external_ref


class BillingActionRetry(BillingActionOutcome):
    "The action may succeed later: it goes back to planned"
    pass


class BillingActionFailure(BillingActionOutcome):
    "The action cannot succeed: it is failed"
    pass


class BillingActionCancel(BillingActionOutcome):
    """The action must not run any more: it is cancelled

    Raised when the debt a sanction is about turns out settled at the
    instant of the call (``BillingAction.check_debt_now``).
    """


class PriceTierError(ValidationError):
    pass


class UsageError(ValidationError):
    pass


class InputError(UserError):
    "An RPC call sent arguments or values its fields cannot take"
    pass


class BoundError(ValidationError):
    "A value is beyond the business bounds of its field"
    pass
