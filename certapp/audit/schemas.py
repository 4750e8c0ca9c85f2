"""The audit log's filters: one schema for its page and its API list."""
from certapp.audit.models import AuditEvent
from certapp.common.schemas import Day, FilterSchema, SearchText
from certapp.db import column_length

#: a day the filter could not read (typed into the address: the page's field is a calendar)
WRONG_DAY = "Дата указана неверно: выберите день в календаре."


class AuditQuerySchema(FilterSchema):
    """The journal's filters, for the page and the API alike (common.schemas.page_filters)."""

    action = SearchText("Действие", column_length(AuditEvent.action),
                        metadata={"description": "the action's code or its beginning, e.g. user."})
    object_type = SearchText("Тип объекта", column_length(AuditEvent.object_type),
                             metadata={"description": "the object's type, e.g. User"})
    object_id = SearchText("№ объекта", column_length(AuditEvent.object_id), plain=True,
                           metadata={"description": "the object's id"})
    actor = SearchText("Кто", column_length(AuditEvent.actor_label),
                       metadata={"description": "a part of the actor's label (e-mail)"})
    date_from = Day(WRONG_DAY, metadata={"description": "from this day (the municipality's local day)"})
    date_to = Day(WRONG_DAY, metadata={"description": "up to this day, inclusive"})
