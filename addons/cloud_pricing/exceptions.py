# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.exceptions import UserError


class CatalogSyncError(UserError):
    "The catalog could not be fetched or its document was refused"


class PricingError(UserError):
    "An instance that cannot be priced"


class OrderError(UserError):
    "A priced instance that cannot be turned into a subscription"


class SpecChangeError(UserError):
    "A spec change that cannot be applied to a subscription"


class OrganizationError(UserError):
    "An organization whose billing cannot be set up"


class ChecklistError(UserError):
    "A service that fails the configuration checklist cannot be ordered"
