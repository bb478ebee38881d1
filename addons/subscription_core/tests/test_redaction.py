# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the redaction of credentials (subscription_core.redaction).

Pure Python: no database.
"""
import io
import json
import logging
import unittest
import urllib.parse

from hypothesis import assume, given, settings, strategies as st

from subscription_core import redaction
from subscription_core.redaction import PLACEHOLDER, WITHHELD, redact

SECRET = 'Tr0ub4dor&3-horse'

# (text, secrets, expected)
CASES = [
    # known secret values, in the forms they take when quoted
    ("Bad password Tr0ub4dor&3-horse given", [SECRET],
        "Bad password [redacted] given"),
    ("echo: {\"pw\": \"Tr0ub4dor&3-horse\"}", [SECRET],
        "echo: {\"pw\": \"[redacted]\"}"),
    ("url: http://h/?pw=Tr0ub4dor%263-horse", [SECRET],
        "url: http://h/?pw=[redacted]"),
    ("html: <b>Tr0ub4dor&amp;3-horse</b>", [SECRET],
        "html: <b>[redacted]</b>"),
    ("upper: TR0UB4DOR&3-HORSE", [SECRET], "upper: [redacted]"),
    ('json: "qu\\"ote"', ['qu"ote'], 'json: "[redacted]"'),
    ("overlap: abcabcab", ['abcab'], "overlap: [redacted]"),
    ("two: alpha1 beta22", ['alpha1', 'beta22'],
        "two: [redacted] [redacted]"),
    # patterns, whatever the value
    ("      password: \"Tr0ub4dor", [],
        "      password: \"[redacted]"),
    ("password: hunter2 and more", [], "password: [redacted]"),
    ("{'password': 'x', 'user': 'bot'}", [],
        "{'password': '[redacted]', 'user': 'bot'}"),
    ('{"auth": {"password": {"user": {"password": "x"}}}}', [],
        '{"auth": {"password": [redacted]'),
    ("application_credential_secret=abc def", [],
        "application_credential_secret=[redacted]"),
    ("OS_PASSWORD=abc", [], "OS_PASSWORD=[redacted]"),
    ('-H "X-Auth-Token: gAAAAABk" -H "Accept: json"', [],
        '-H "X-Auth-Token: [redacted]'),
    ("Authorization: Basic YmlsbGluZzpwdw==", [], "Authorization: [redacted]"),
    ("sent Bearer abc.def-ghi to h", [], "sent Bearer [redacted] to h"),
    ("https://bot:pw@keystone.example.com:5000/v3", [],
        "https://[redacted]@keystone.example.com:5000/v3"),
    ("smtps://user@mail.example.com", [],
        "smtps://[redacted]@mail.example.com"),
    ("token gAAAAABkX2z0aL_b1vZ9yq3Hn8QyQwWwXk1", [], "token [redacted]"),
    # what is not a credential stays
    ("Request to http://127.0.0.1:9/v3/auth/tokens timed out", [],
        "Request to http://127.0.0.1:9/v3/auth/tokens timed out"),
    ("password is a required attribute", [],
        "password is a required attribute"),
    ('{"methods": ["password"]}', [], '{"methods": ["password"]}'),
    ("Instance 1f2e could not be found. (HTTP 404) (Request-ID: req-1)",
        [],
        "Instance 1f2e could not be found. (HTTP 404) (Request-ID: req-1)"),
    ("", [SECRET], ""),
    # the placeholder would bring the secret back: a fixed text
    ("secret is e", ['e'], ''),
    ("x redacted y", ['redacted'], WITHHELD),
    ]


class RedactTestCase(unittest.TestCase):

    def test_cases(self):
        for text, secrets, expected in CASES:
            with self.subTest(text=text):
                self.assertEqual(redact(text, secrets), expected)

    def test_none_and_objects(self):
        self.assertIsNone(redact(None, [SECRET]))
        self.assertEqual(
            redact(ValueError("bad " + SECRET), [SECRET]), "bad [redacted]")

    def test_limit(self):
        self.assertEqual(len(redact('x' * 5000)), redaction.LIMIT)
        self.assertTrue(redact('x' * 5000).endswith(redaction.ELLIPSIS))
        self.assertEqual(redact('x' * 10, limit=4), 'xxx…')
        self.assertEqual(len(redact('x' * 5000, limit=None)), 5000)

    def test_truncated_secret_is_still_masked(self):
        "A secret cut by the limit: masked before the cut"
        text = 'a' * 990 + SECRET
        self.assertNotIn(SECRET[:5], redact(text, [SECRET]))

    def test_registered(self):
        secret = 'registered-only-here-4711'
        self.assertIn(secret, redact("x %s" % secret))
        redaction.register([secret, 'abc', None])
        self.assertIn(secret, redaction.registered())
        self.assertNotIn('abc', redaction.registered())
        self.assertEqual(redact("x %s" % secret), "x [redacted]")


class RedactPropertyTestCase(unittest.TestCase):

    @settings(max_examples=500, deadline=None)
    @given(st.text(min_size=1), st.text(), st.text(), st.integers(1, 3))
    def test_secret_never_in_output(self, secret, before, after, times):
        text = before + (secret + after) * times
        output = redact(text, [secret])
        self.assertNotIn(secret, output)
        self.assertNotIn(secret.lower(), output.lower())

    @settings(max_examples=300, deadline=None)
    @given(st.text(
            st.characters(blacklist_categories=['Cs']), min_size=4),
        st.text(), st.sampled_from([
                lambda s: s,
                lambda s: json.dumps({'password': s}),
                lambda s: json.dumps(s),
                lambda s: repr({'pw': s}),
                lambda s: urllib.parse.quote(s, safe=''),
                lambda s: 'https://bot:%s@host/v3' % s,
                ]))
    def test_encoded_secret_never_in_output(self, secret, text, encode):
        "The secret, as JSON, repr or URL, never survives in any form"
        output = redact(text + encode(secret) + text, [secret])
        self.assertNotIn(secret, output)
        self.assertNotIn(json.dumps(secret)[1:-1], output)
        self.assertNotIn(urllib.parse.quote(secret, safe=''), output)

    @settings(max_examples=200, deadline=None)
    @given(st.text(), st.integers(0, 200))
    def test_bounded(self, text, limit):
        self.assertLessEqual(len(redact(text, [], limit=limit)), limit)

    @settings(max_examples=200, deadline=None)
    @given(st.text(alphabet=st.characters(
                whitelist_categories=['L', 'N', 'Zs'],
                blacklist_characters='*'), max_size=80))
    def test_plain_text_unchanged(self, text):
        "Text without credentials or URLs passes unchanged"
        assume(not any(w in text.lower() for w in [
                    'pass', 'secret', 'token', 'credential', 'key',
                    'authorization', 'cookie', 'session', 'bearer', 'basic',
                    'gaaaaa']))
        self.assertEqual(redact(text, []), text)


class LogFilterTestCase(unittest.TestCase):

    def test_records_redacted(self):
        "Message, arguments and traceback of any logger are redacted"
        secret = 'log-filter-secret-0815'
        redaction.register([secret])
        redaction.install_log_filter()
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        logger = logging.getLogger('keystoneauth.session.test_redaction')
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        self.addCleanup(logger.removeHandler, handler)
        logger.debug("REQ: -H 'X-Auth-Token: %s'", 'abcdef')
        logger.warning("login with %s", secret)
        try:
            raise ValueError({'password': 'pw-in-traceback'})
        except ValueError:
            logger.exception("failed: %s", secret)
        output = stream.getvalue()
        for leaked in [secret, 'abcdef', 'pw-in-traceback']:
            self.assertNotIn(leaked, output)
        self.assertIn("login with %s" % PLACEHOLDER, output)
        self.assertIn("Traceback", output)
        self.assertIn("ValueError", output)

    def test_installed_once(self):
        self.assertIs(
            redaction.install_log_filter(), redaction.install_log_filter())
