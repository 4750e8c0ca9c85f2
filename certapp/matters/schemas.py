"""The filters of «Что ждёт решения», one schema for the page and the API."""
from flask_login import current_user
from marshmallow import fields

from certapp.common.schemas import NO_SUCH_PROVIDER, Choice, FilterId, FilterSchema, Flag
from certapp.matters import services
from certapp.registry.services import is_filter_provider


class MatterQuerySchema(FilterSchema):
    kind = Choice(services.MATTER_KINDS, "Такого вида дел нет: выберите из списка.",
                  allowed=lambda: services.kinds_for(current_user))  # the kinds of the caller's role
    overdue = Flag(metadata={"description": "only the overdue ones"})
    provider = FilterId(NO_SUCH_PROVIDER, exists=is_filter_provider, metadata={"description": "a provider's id"})
    municipality = fields.String(metadata={"description": "the regional operator: the municipality's ОКТМО "
                                                          "(certapp.accounts.access checks it)"})
