# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""``trytond-admin`` of this virtualenv with an admin password, for the
scripts that build databases (scripts/demo_data.py, bench/template.py)."""
import os
import subprocess
import sys
import tempfile


def trytond_admin(*args, password, quiet=False):
    """Run trytond-admin with args; the admin password (of --all on a new
    database) goes through TRYTONPASSFILE, never the command line"""
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write(password)
        passfile.flush()
        env = dict(os.environ, TRYTONPASSFILE=passfile.name)
        admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
        subprocess.run([admin, *args], env=env, check=True,
            stdout=subprocess.DEVNULL if quiet else None)
