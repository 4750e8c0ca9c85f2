"""The filters of the notifications and of the outbox: one schema per list for its page and its API."""
from certapp.common.schemas import NO_SUCH_STATE, Choice, FilterSchema, Flag
from certapp.mail.models import MESSAGE_STATUSES


class NotificationQuerySchema(FilterSchema):
    """The notifications' filter, for the page and the API alike (common.schemas.page_filters)."""

    unread = Flag(metadata={"description": "only those that wait: not yet read and their matter not decided"})


class OutboxQuerySchema(FilterSchema):
    """The outbox page's filter (common.schemas.page_filters)."""

    status = Choice(MESSAGE_STATUSES, NO_SUCH_STATE)
