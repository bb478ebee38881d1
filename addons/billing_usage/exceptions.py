# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class MetricError(ValidationError):
    pass


class MetricModificationError(AccessError):
    pass


class EventError(ValidationError):
    "A usage event that is refused"


class IngestError(UserError):
    "A call of ingest that is refused as a whole"


class EventImportError(UserError):
    "A file of usage events that cannot be imported at all"


class UsageRowError(UserError):
    pass
