# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class CloudConnectionError(UserError):
    pass


class CloudProjectError(ValidationError):
    pass


class QuotaMappingError(ValidationError):
    pass


class BrandingError(ValidationError):
    pass


class BillingEmailError(UserError):
    pass


class BillingEmailTextError(ValidationError):
    pass


class GraceConfigurationError(ValidationError):
    pass


class QuotaChangeError(UserError):
    pass


class ResourceAccessError(AccessError):
    pass


class DestructiveBatchError(UserError):
    pass


class UsageWindowError(UserError):
    pass
