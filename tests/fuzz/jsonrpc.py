"""A JSON-RPC client that talks to trytond as the web client does, with raw
JSON text: ``NaN`` and ``Infinity`` literals and the ``__class__`` objects of
trytond's decoder reach the server as any client could send them.
"""
import base64
import datetime
import http.client
import json
import urllib.parse
from decimal import Decimal

# The exceptions trytond reports to its clients as user-facing errors
# (ValidationError, AccessError, ... are UserError subclasses and travel as
# 'UserError').
USER_ERRORS = {'UserError', 'UserWarning'}


def _default(value):
    if isinstance(value, Decimal):
        return {'__class__': 'Decimal', 'decimal': str(value)}
    if isinstance(value, datetime.datetime):
        return {'__class__': 'datetime', 'year': value.year,
            'month': value.month, 'day': value.day, 'hour': value.hour,
            'minute': value.minute, 'second': value.second,
            'microsecond': value.microsecond}
    if isinstance(value, datetime.date):
        return {'__class__': 'date', 'year': value.year,
            'month': value.month, 'day': value.day}
    if isinstance(value, datetime.timedelta):
        return {'__class__': 'timedelta', 'seconds': value.total_seconds()}
    if isinstance(value, (bytes, bytearray)):
        return {'__class__': 'bytes',
            'base64': base64.encodebytes(bytes(value)).decode()}
    if isinstance(value, Raw):
        return value.value
    raise TypeError(repr(value))


class Raw:
    "A value sent as it is (e.g. a malformed __class__ object)"

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return 'Raw(%r)' % (self.value,)


def dumps(payload):
    "JSON text with NaN/Infinity literals, as Python's json writes them"
    return json.dumps(payload, default=_default, allow_nan=True)


def _object_hook(dct):
    kind = dct.get('__class__')
    if kind == 'Decimal':
        return Decimal(dct['decimal'])
    if kind == 'date':
        return datetime.date(dct['year'], dct['month'], dct['day'])
    if kind == 'datetime':
        return datetime.datetime(dct['year'], dct['month'], dct['day'],
            dct['hour'], dct['minute'], dct['second'], dct['microsecond'])
    if kind == 'timedelta':
        return datetime.timedelta(seconds=dct['seconds'])
    if kind == 'bytes':
        return base64.decodebytes(dct['base64'].encode())
    return dct


class Answer:
    """What the server answered to one call

    kind is 'result', 'user_error' (a Tryton user error: UserError and its
    subclasses, UserWarning), 'rejected' (the protocol refused the request:
    HTTP 400/413/422) or 'fault' (anything else: a server exception with its
    traceback, HTTP 500, a broken answer).
    """

    def __init__(self, kind, value=None, status=200):
        self.kind = kind
        self.value = value
        self.status = status

    def __repr__(self):
        text = repr(self.value)
        if len(text) > 2000:
            text = text[:2000] + '...'
        return f'<Answer {self.kind} {self.status} {text}>'

    @property
    def message(self):
        if self.kind == 'user_error':
            if self.value[0] == 'UserWarning':
                return self.value[1][1]
            return self.value[1][0]


class Client:
    def __init__(self, url, database, timeout=120):
        self.host_url, self.database = url, database
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.path = '/%s/rpc/' % database
        self.timeout = timeout
        self.authorization = None
        self.context = {}
        self._id = 0
        self._connection = None
        self._credentials = None

    def _connect(self):
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout)
        return self._connection

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def login(self, login, password):
        self._credentials = (login, password)
        self.authorization = None
        answer = self.call('common.db.login',
            [login, {'password': password}, 'en'], context=False)
        assert answer.kind == 'result', answer
        user_id, session = answer.value[:2]
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.authorization = f'Session {token}'
        self.user_id = user_id
        preferences = self.call('model.res.user.get_preferences', [True])
        assert preferences.kind == 'result', preferences
        self.context = preferences.value
        return user_id

    def call(self, method, params, context=True):
        "Call method; the user's context is appended to params"
        if context is True:
            params = list(params) + [self.context]
        elif isinstance(context, dict):
            params = list(params) + [dict(self.context, **context)]
        self._id += 1
        body = dumps({'id': self._id, 'method': method, 'params': params})
        return self.send(body.encode('utf-8'))

    def send(self, body, login_again=True):
        """Send the JSON text body. A 401 (the session is gone) logs in
        again and sends once more, as a client does: trytond deletes a
        session that a call asking for a fresh one (posting an invoice)
        finds idle for its [session] timeout, which a long fuzz run meets;
        it is no answer of the call."""
        headers = {'Content-Type': 'application/json'}
        if self.authorization:
            headers['Authorization'] = self.authorization
        for attempt in range(2):
            connection = self._connect()
            try:
                connection.request('POST', self.path, body, headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
        if (response.status == 401 and login_again and self._credentials
                and self.authorization):
            self.login(*self._credentials)
            return self.send(body, login_again=False)
        if response.status in {400, 413, 422}:
            return Answer('rejected', data[:500], response.status)
        if response.status != 200:
            return Answer('fault', data[:5000], response.status)
        try:
            payload = json.loads(data, object_hook=_object_hook)
        except ValueError:
            return Answer('fault', data[:5000], response.status)
        if 'error' in payload:
            error = payload['error']
            if (isinstance(error, list) and error
                    and error[0] in USER_ERRORS):
                return Answer('user_error', error)
            return Answer('fault', error)
        return Answer('result', payload.get('result'))


def is_translated(message):
    """A user message that went through gettext: not empty and not a bare
    message id (what gettext returns when the message is missing)"""
    if not isinstance(message, str) or not message.strip():
        return False
    return not (message.count('.') == 1 and '.msg_' in message
        and ' ' not in message)
