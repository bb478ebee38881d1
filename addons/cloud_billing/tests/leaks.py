# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Helpers of the tests that look for credentials where they must not be.

* ``write_config``: a clouds.yaml and a secure.yaml (well-formed or not) in a
  folder, as the ``[cloud_billing] clouds_yaml`` option points at them;
* ``EchoKeystone``: a Keystone on loopback that answers the version
  discovery and refuses every token request with a 401 whose message echoes
  the request (headers and body, password included), as a misconfigured
  proxy or a chatty identity server might;
* ``closed_port``: a loopback port nobody listens on;
* ``capture_logs``: every log record of the process at DEBUG, formatted;
* ``parts``: the pieces of a password that must not appear anywhere.
"""
import contextlib
import http.server
import io
import json
import logging
import os
import socket
import textwrap
import threading

# Letters, digits and dashes only: valid as a YAML anchor and tag name, so
# that the broken files below make PyYAML quote it.
PASSWORD = 'Zq7-Tr0ub4dor-8vXk'

CLOUDS_YAML = '''\
clouds:
  billing:
    region_name: RegionOne
    identity_api_version: 3
    auth:
      auth_url: {auth_url}
      username: billing-bot
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
'''

SECURE_YAML = {
    'valid': '''\
        clouds:
          billing:
            auth:
              password: "{password}"
        ''',
    # PyYAML: could not determine a constructor for the tag '!<password>'
    'tag': '''\
        clouds:
          billing:
            auth:
              password: !{password}
        ''',
    # PyYAML: found undefined alias '<password>'
    'alias': '''\
        clouds:
          billing:
            auth:
              password: *{password}
        ''',
    # PyYAML: while scanning a quoted scalar ... found unexpected end
    'unterminated': '''\
        clouds:
          billing:
            auth:
              password: "{password}
        ''',
    }


def write_config(folder, auth_url, secure='valid', password=PASSWORD):
    "Write clouds.yaml and secure.yaml in folder; return clouds.yaml's path"
    clouds_yaml = os.path.join(folder, 'clouds.yaml')
    with open(clouds_yaml, 'w') as f:
        f.write(CLOUDS_YAML.format(auth_url=auth_url))
    with open(os.path.join(folder, 'secure.yaml'), 'w') as f:
        f.write(textwrap.dedent(SECURE_YAML[secure]).format(
                password=password))
    return clouds_yaml


class _Handler(http.server.BaseHTTPRequestHandler):

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        # Version discovery: keystoneauth then posts to /v3/auth/tokens.
        host = 'http://%s:%s' % self.server.server_address[:2]
        self._send(200, {'version': {
                    'id': 'v3.14', 'status': 'stable',
                    'updated': '2020-04-07T00:00:00Z',
                    'links': [{'rel': 'self', 'href': host + '/v3/'}],
                    }})

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8', 'replace')
        self.server.requests.append(body)
        self._send(401, {'error': {
                    'code': 401, 'title': 'Unauthorized',
                    'message': 'Rejected %s %s %s %s' % (
                        self.command, self.path, dict(self.headers), body),
                    }})

    def log_message(self, *args):
        pass


class EchoKeystone:
    "A loopback Keystone refusing every token with an echo of the request"

    def __init__(self):
        self.server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), _Handler)
        self.server.requests = []
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return 'http://127.0.0.1:%s/v3' % self.server.server_address[1]

    @property
    def requests(self):
        return self.server.requests

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def closed_port():
    "A loopback port with nothing listening"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def capture_logs():
    """Every record the root logger sees at DEBUG, as a growing text

    Formatted with the traceback, the way a log file would get it.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(
            '%(levelname)s %(name)s %(message)s'))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def parts(password=PASSWORD, size=6):
    "The pieces of password no text may contain"
    return {password[i:i + size] for i in range(len(password) - size + 1)}


def leaks(text, password=PASSWORD):
    "The pieces of password found in text"
    text = '' if text is None else str(text)
    return sorted(p for p in parts(password) if p in text)
