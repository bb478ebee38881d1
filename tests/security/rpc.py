"""A JSON-RPC client for the tests that call trytond as a user would."""
import base64
import itertools
import json
import urllib.request


class RPCError(Exception):
    "An error answered by the server: ('UserError', args) or a crash"

    def __init__(self, error):
        super().__init__(error)
        self.error = error

    @property
    def user_error(self):
        "True for a user-facing error (UserError, and so AccessError)"
        return (isinstance(self.error, list) and len(self.error) == 2
            and self.error[0] == 'UserError')

    @property
    def message(self):
        if self.user_error:
            return self.error[1][0]
        return str(self.error[0]) if self.error else ''

    @property
    def description(self):
        if self.user_error:
            return self.error[1][1]
        return ''


class Session:
    "A user logged in over JSON-RPC to database at url"
    _ids = itertools.count(1)

    def __init__(self, url, database, login, password):
        self.url = f'{url}{database}/rpc/'
        self.login = login
        self.authorization = None
        user_id, session = self.call(
            'common.db.login', login, {'password': password}, 'en')[:2]
        token = f'{login}:{user_id}:{session}'.encode()
        self.authorization = 'Session ' + base64.b64encode(token).decode()
        self.user_id = user_id
        self.context = self.call('model.res.user.get_preferences', True, {})

    def call(self, method, *params):
        body = json.dumps({
                'id': next(self._ids), 'method': method,
                'params': list(params)}).encode()
        request = urllib.request.Request(self.url, data=body, headers={
                'Content-Type': 'application/json'})
        if self.authorization:
            request.add_header('Authorization', self.authorization)
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        if 'error' in answer:
            raise RPCError(answer['error'])
        return answer['result']

    def model(self, model, method, *params, context=None):
        return self.call(
            f'model.{model}.{method}', *params,
            dict(self.context, **(context or {})))
