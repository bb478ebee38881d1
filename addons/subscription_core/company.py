# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .validation import InputMixin


class Company(InputMixin, metaclass=PoolMeta):
    __name__ = 'company.company'

    @classmethod
    def _billing_cron_modules(cls):
        "The modules whose scheduled jobs run for every company"
        return {'subscription_core'}

    @classmethod
    def create(cls, vlist):
        """A company created after the modules were activated gets their
        scheduled jobs too (Tryton registers only the companies that exist
        when a job is created)"""
        pool = Pool()
        Cron = pool.get('ir.cron')
        ModelData = pool.get('ir.model.data')
        companies = super().create(vlist)
        with without_check_access():
            data = ModelData.search([
                    ('model', '=', 'ir.cron'),
                    ('module', 'in', list(cls._billing_cron_modules())),
                    ])
            crons = Cron.browse([d.db_id for d in data])
            if crons:
                Cron.write(crons, {
                        'companies': [('add', [c.id for c in companies])],
                        })
        return companies
