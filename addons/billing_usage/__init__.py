# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
# The HTTP routes register when the module is imported (as Tryton's timesheet
# does): the route must exist before a request loads the database's pool.
from . import routes  # noqa: F401
from . import row_route  # noqa: F401
