# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The HTTP routes of the daily usage rows.

* ``GET /<database>/billing_usage/rows?start=YYYY-MM-DD&end=YYYY-MM-DD``
  (half-open; optional ``subscription`` number, ``customer`` party code,
  ``metric`` code) and ``GET /<database>/billing_usage/rows/<YYYY-MM>``:
  the rows the key's user may read (groups *Billing Finance* and *Billing
  Support*, the user's companies), as JSON streamed in batches: the
  answer of a month is never held in memory at once.
* ``POST /<database>/billing_usage/generate?start=&end=``: aggregate again
  the ended days of the range for the user's company (group *Billing
  Finance Manager* only).

Authenticated with a user application key of ``billing_usage`` like the
events route. The server checks the user's groups itself: a key whose
user lacks them is answered 403; a bad parameter 400, with a translated
message ``{"error": "..."}``.
"""
from http import HTTPStatus

from trytond import config
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.protocols.jsonrpc import JSONEncoder, json
from trytond.protocols.wrappers import Response
from trytond.transaction import Transaction, check_access

from subscription_core.route import application_route, json_response
from subscription_core.validation import check_model_access

from . import row_query
from .routes import MAX_REQUEST_SIZE
from .user import APPLICATION


def _batch():
    "Rows read and sent per batch of the stream ([billing_usage] rows_batch)"
    return max(1, config.getint('billing_usage', 'rows_batch', default=1000))


def _error(code, status=HTTPStatus.BAD_REQUEST, **params):
    return json_response({'error': gettext(
                'billing_usage.msg_rows_%s' % code, **params)}, status)


@application_route('/<database_name>/billing_usage/rows/<month>',
    APPLICATION, MAX_REQUEST_SIZE, readonly=True, methods=['GET'])
@application_route('/<database_name>/billing_usage/rows',
    APPLICATION, MAX_REQUEST_SIZE, readonly=True, methods=['GET'],
    defaults={'month': None})
def rows(request, pool, month):
    "The rows of the days [start, end), or of the days of a month, filtered"
    try:
        if month is None:
            start, end = row_query.read_range(
                request.args.get('start'), request.args.get('end'))
        else:
            start, end = row_query.read_month(month)
        filters = row_query.read_filters(request.args)
    except row_query.QueryError as error:
        return _error(error.code, **error.params)
    return _rows_answer(pool, start, end, filters)


@application_route('/<database_name>/billing_usage/generate',
    APPLICATION, MAX_REQUEST_SIZE)
def generate(request, pool):
    "Aggregate again the rows of the ended days [start, end)"
    Row = pool.get('billing_usage.row')
    Date = pool.get('ir.date')
    if not _is_finance_manager(pool):
        return _error('generate_forbidden', HTTPStatus.FORBIDDEN)
    try:
        start, end = row_query.read_range(
            request.args.get('start'), request.args.get('end'),
            max_days=row_query.MAX_GENERATE_DAYS)
    except row_query.QueryError as error:
        return _error(error.code, **error.params)
    today = Date.server_today()
    if end > today:
        return _error('not_ended', end=end, today=today)
    changed = Row.regenerate(start, end)
    return json_response({
            'start': start.isoformat(),
            'end': end.isoformat(),
            'changed': len(changed),
            })


def _is_finance_manager(pool):
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    group_id = ModelData.get_id(
        'subscription_core', 'group_billing_finance_manager')
    user = User(Transaction().user)
    return group_id in {g.id for g in user.groups}


def _domain(start, end, filters):
    domain = [
        ('day', '>=', start),
        ('day', '<', end),
        ]
    if 'subscription' in filters:
        domain.append(('subscription.number', '=', filters['subscription']))
    if 'customer' in filters:
        domain.append(('subscription.party.code', '=', filters['customer']))
    if 'metric' in filters:
        domain.append(('metric.code', '=', filters['metric']))
    return domain


def _rows_answer(pool, start, end, filters):
    """The streamed answer; the rights are checked before the first byte
    (a refusal is a 403, not a broken stream)"""
    Row = pool.get('billing_usage.row')
    try:
        check_model_access(Row, 'read')
    except AccessError:
        return _error('read_forbidden', HTTPStatus.FORBIDDEN)
    transaction = Transaction()
    stream = _stream(transaction.database.name, transaction.user,
        dict(transaction.context), start, end, _domain(start, end, filters))
    return Response(stream, status=HTTPStatus.OK,
        content_type='application/json')


def _stream(database_name, user_id, context, start, end, domain):
    """The JSON answer in pieces: each batch of rows is read in a read-only
    transaction of its own user, with its rights and rules, after the
    previous one was sent (keyset on day and id, so rows made meanwhile
    neither repeat nor shift the batches)"""
    context = {k: v for k, v in context.items() if k != '_request'}
    yield ('{"start": "%s", "end": "%s", "rows": [' % (
            start.isoformat(), end.isoformat())).encode()
    after, first, batch = None, True, _batch()
    while True:
        with Transaction().start(database_name, user_id, readonly=True,
                context=context), check_access():
            Row = Pool().get('billing_usage.row')
            batch_domain = list(domain)
            if after:
                day, id_ = after
                batch_domain.append(['OR',
                        ('day', '>', day),
                        [('day', '=', day), ('id', '>', id_)],
                        ])
            records = Row.search(batch_domain,
                order=[('day', 'ASC'), ('id', 'ASC')], limit=batch)
            pieces = [json.dumps(_row_json(r), cls=JSONEncoder,
                    separators=(',', ':')) for r in records]
            if records:
                after = (records[-1].day, records[-1].id)
        if pieces:
            yield ((',' if not first else '') + ','.join(pieces)).encode()
            first = False
        if len(pieces) < batch:
            break
    yield b']}'


def _row_json(row):
    subscription = row.subscription
    return {
        'id': row.id,
        'day': row.day.isoformat(),
        'hour': row.hour,
        'subscription': subscription.number,
        'customer': subscription.party.code,
        'line': row.line.id,
        'metric': row.metric.code,
        'unit': row.metric.unit,
        'group': row.group_value or '',
        'quantity': str(row.quantity),
        'events': row.event_count,
        'invoiced': str(row.billed_quantity),
        }
