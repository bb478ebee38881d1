# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Remove credentials from a text before it leaves the code (no ORM).

Every error text that is stored on a record (an action's last error, its
events, a subscription's sync error, the remote outcomes), logged, mailed or
returned by RPC goes through ``redact()`` first. It removes:

* the known secret values (``secrets``, or those registered by the code that
  reads them, e.g. cloud_billing when it loads clouds.yaml and secure.yaml),
  as written and in the escaped forms they take in JSON, Python reprs, URLs
  and HTML, case-insensitively;
* what looks like a credential whatever its value: ``password: ...``,
  ``"password": "..."``, ``application_credential_secret=...``,
  ``X-Auth-Token: ...``, ``Authorization: ...``, ``Bearer ...``, the user
  info of URLs (``https://user:pass@host``), Keystone fernet tokens;

and bounds the length. An unquoted value runs to the end of the line: a
YAML or HTTP line that quotes a credential loses the rest of the line rather
than a part of the secret.

The result never contains a known secret: should the replacement itself
bring one back (a secret that is part of the placeholder), a fixed text is
returned instead.

``install_log_filter()`` makes every log record of the process go through
``redact()`` when it is created (message, arguments, traceback), whichever
handler then writes it.
"""
import functools
import html
import json
import logging
import re
import threading
import urllib.parse

LIMIT = 1000            # characters kept of a text stored or returned
MIN_SECRET = 4          # shorter values are not registered (see register)
PLACEHOLDER = '[redacted]'
WITHHELD = '[error text withheld]'
ELLIPSIS = '…'

_KEYS = (
    r'[\w-]*(?:password|passwd|passphrase|secret|token|credential'
    r'|api[_-]?key|access[_-]?key|private[_-]?key|authorization'
    r'|cookie|session[_-]?id)[\w-]*')
_KEY_VALUE = re.compile(
    # a key (maybe quoted) not inside a path or a dotted name, then : or =
    r'(?<![\w/.\-])(?P<key>(?P<q>["\']?)' + _KEYS + r'(?P=q))'
    r'(?P<sep>\s*[:=]\s*)'
    # a quoted value (maybe never closed), else the rest of the line
    r'(?P<value>"(?:[^"\\\n]|\\.)*"?|\'(?:[^\'\\\n]|\\.)*\'?|[^\r\n]+)',
    re.IGNORECASE)
_BEARER = re.compile(r'\b(bearer|basic)\s+[\w.~+/=-]+', re.IGNORECASE)
_USERINFO = re.compile(
    r'\b([a-z][a-z0-9+.-]*://)[^\s/@?#]+@', re.IGNORECASE)
_FERNET = re.compile(r'\bgAAAAA[\w-]{20,}=*')

_lock = threading.Lock()
_registered = frozenset()


def register(values):
    """Make values known secrets of this process (for redact without secrets)

    Values shorter than MIN_SECRET characters are left out: masking every
    "abc" would leave no message readable; the patterns still catch them
    where they appear as ``password: abc``.
    """
    global _registered
    values = {v.strip() for v in values if isinstance(v, str)}
    values = {v for v in values if len(v) >= MIN_SECRET}
    if not values <= _registered:
        with _lock:
            _registered = _registered | values


def registered():
    "The known secrets of this process"
    return _registered


def _variants(secret):
    "The forms a secret takes once quoted, escaped or encoded"
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        urllib.parse.quote(secret, safe=''),
        urllib.parse.quote_plus(secret, safe=''),
        urllib.parse.quote(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        }
    return {f for f in forms if f}


@functools.lru_cache(maxsize=32)
def _secrets_pattern(secrets):
    "A regular expression finding any form of secrets (a frozenset)"
    forms = set()
    for secret in secrets:
        if secret:
            forms |= _variants(secret)
    if not forms:
        return None
    alternatives = '|'.join(
        re.escape(f) for f in sorted(forms, key=len, reverse=True))
    # A lookahead finds overlapping occurrences too.
    return re.compile('(?=(%s))' % alternatives, re.IGNORECASE | re.DOTALL)


def _mask(text, pattern):
    "Replace every run of text covered by a match of pattern"
    covered = []
    for match in pattern.finditer(text):
        start, end = match.start(), match.start() + len(match.group(1))
        if end <= start:
            continue
        if covered and start <= covered[-1][1]:
            covered[-1][1] = max(covered[-1][1], end)
        else:
            covered.append([start, end])
    if not covered:
        return text
    parts, last = [], 0
    for start, end in covered:
        parts.append(text[last:start])
        parts.append(PLACEHOLDER)
        last = end
    parts.append(text[last:])
    return ''.join(parts)


def _key_value(match):
    value = match.group('value')
    if value[:1] in {'"', "'"}:
        quote = value[0]
        closed = len(value) > 1 and value.endswith(quote)
        value = quote + PLACEHOLDER + (quote if closed else '')
    else:
        value = PLACEHOLDER
    return match.group('key') + match.group('sep') + value


def _patterns(text):
    text = _USERINFO.sub(lambda m: m.group(1) + PLACEHOLDER + '@', text)
    text = _KEY_VALUE.sub(_key_value, text)
    text = _BEARER.sub(lambda m: m.group(1) + ' ' + PLACEHOLDER, text)
    text = _FERNET.sub(PLACEHOLDER, text)
    return text


def redact(text, secrets=None, limit=LIMIT):
    """text without credentials, at most limit characters (None: no bound)

    secrets: the secret values to remove; None: the registered ones.
    None stays None; anything else is turned into a string first.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)
    if secrets is None:
        secrets = _registered
    pattern = _secrets_pattern(frozenset(secrets))
    if pattern is not None:
        text = _mask(text, pattern)
    text = _patterns(text)
    if limit is not None and len(text) > limit:
        if limit > len(ELLIPSIS):
            text = text[:limit - len(ELLIPSIS)] + ELLIPSIS
        else:
            text = text[:limit]
    if pattern is not None and pattern.search(text):
        # The placeholder, a truncation or a pattern made one up again.
        text = WITHHELD
        if pattern.search(text):
            text = ''
    return text


class RedactingFilter(logging.Filter):
    "Redact the message, arguments and traceback of a log record"

    def filter(self, record):
        redact_record(record)
        return True


def redact_record(record):
    try:
        message = record.getMessage()
    except Exception:
        message = '%s %r' % (record.msg, record.args)
    record.msg = redact(message, limit=None)
    record.args = ()
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = logging.Formatter().formatException(
                record.exc_info)
        # Handlers format exc_text; none gets the exception itself.
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text, limit=None)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, limit=None)
    return record


_installed = None


def install_log_filter():
    """Redact every log record of the process when it is created

    A filter on a logger does not see the records of its children and a
    filter on a handler only those of that handler, so the filter is run by
    the record factory: openstacksdk, keystoneauth, urllib3, trytond's
    dispatcher and worker (tracebacks of failed tasks) all go through it.
    Installed once; the previous factory still makes the record.
    """
    global _installed
    with _lock:
        if _installed is not None:
            return _installed
        previous = logging.getLogRecordFactory()
        log_filter = RedactingFilter()

        def factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            log_filter.filter(record)
            return record
        factory.redacting = True
        logging.setLogRecordFactory(factory)
        _installed = log_filter
        return log_filter
