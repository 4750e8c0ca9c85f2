"""A request's id: the caller's X-Request-ID when it is a plain token, else a new one (certapp.observability
gives it to every request the app answers; the page cache's WSGI edge to the pages it answers itself)."""
import re
import uuid

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_for(incoming: str | None) -> str:
    return incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
