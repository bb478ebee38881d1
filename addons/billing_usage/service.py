# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .exceptions import MetricError


class Service(metaclass=PoolMeta):
    __name__ = 'sale.subscription.service'

    usage_metric = fields.Many2One(
        'billing_usage.metric', "Usage Metric", ondelete='RESTRICT',
        states={
            'invisible': Eval('billing_type') != 'usage',
            },
        help="The metric whose daily usage rows the usage lines of the "
        "service bill.")

    @classmethod
    def validate_fields(cls, services, field_names):
        super().validate_fields(services, field_names)
        cls.check_usage_metric(services, field_names)

    @classmethod
    def check_usage_metric(cls, services, field_names=None):
        Configuration = Pool().get('billing_usage.configuration')
        if field_names and not (field_names & {
                    'usage_metric', 'billing_type', 'billing_period',
                    'company'}):
            return
        for service in services:
            metric = service.usage_metric
            if not metric:
                continue
            if service.billing_type != 'usage':
                raise MetricError(gettext(
                        'billing_usage.msg_service_metric_not_usage',
                        service=service.rec_name, metric=metric.rec_name))
            company = getattr(service, 'company', None)
            if company and company != metric.company:
                raise MetricError(gettext(
                        'billing_usage.msg_service_metric_company',
                        service=service.rec_name, metric=metric.rec_name))
            if (service.billing_period == 'hour'
                    and metric.aggregation != 'weighted_sum'
                    and not Configuration.get_for(
                        metric.company).hourly_on_demand):
                # On demand is daily unless the company invoices hourly
                raise MetricError(gettext(
                        'billing_usage.msg_service_hourly_disabled',
                        service=service.rec_name, metric=metric.rec_name))
