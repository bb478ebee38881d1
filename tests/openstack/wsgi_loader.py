"""Load an OpenStack WSGI application under gunicorn.

oslo.config parses ``sys.argv`` when the application initialises; under
gunicorn that is gunicorn's own command line, which oslo.config rejects
("unrecognized arguments") and the worker then restarts forever.  gunicorn
calls ``load(...)`` inside the worker, so ``sys.argv`` is reset before the
service module is imported::

    gunicorn ... 'wsgi_loader:load("keystone.wsgi.api")'
"""

import importlib
import sys


def load(module_name, attribute="application"):
    sys.argv = [sys.argv[0]]
    module = importlib.import_module(module_name)
    app = getattr(module, attribute)
    if app is None:
        raise RuntimeError(f"{module_name}.{attribute} is None")
    return app
