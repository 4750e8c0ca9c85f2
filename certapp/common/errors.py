"""Named domain errors: a Russian message for people and a machine code for the API."""
from dataclasses import dataclass


class DomainError(Exception):
    """A rule refused the action. Nothing was changed."""

    #: machine-readable code returned by the API
    code = "domain_error"
    #: HTTP status for the API
    status = 409

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 status: int | None = None, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        #: several fields' messages at once ({field: message}), when a whole form was checked
        self.fields = fields or ({field: message} if field else {})
        if code:
            self.code = code
        if status:
            self.status = status



@dataclass(frozen=True)
class KeptRefusal:
    """A refusal that is itself a fact to keep (an art school's registry application rejected under
    п. 4 of 458-п; a parent told that another guardian holds the child's certificate, recorded for the
    department): the service writes that fact and returns this instead of raising. The handler shows
    `error` and keeps the request's unit (certapp.uow.keep), so the record commits."""

    error: DomainError


class ValidationError(DomainError):
    code = "validation_error"
    status = 422


class NotFoundError(DomainError):
    code = "not_found"
    status = 404


class PermissionDeniedError(DomainError):
    code = "forbidden"
    status = 403


class ConflictError(DomainError):
    code = "conflict"
    status = 409


class TransitionError(DomainError):
    """A document is not in a state that allows the action."""

    code = "invalid_transition"
    status = 409


class FieldChecks:
    """A whole form checked at once: `checks(fn, *args)` runs one check and keeps its ValidationError
    (the first per field) instead of stopping; `checks.done()` raises them together, so that a person
    sees every wrong field after one submit (pages beside each field, the API under `errors.json`)."""

    def __init__(self):
        self.fields: dict[str, str] = {}

    def __call__(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ValidationError as error:
            for name, message in (error.fields or {"": error.message}).items():
                self.fields.setdefault(name or "", message)
            return None

    def fail(self, field: str, message: str) -> None:
        self.fields.setdefault(field, message)

    def done(self) -> None:
        if self.fields:
            messages = list(self.fields.values())
            message = messages[0] if len(messages) == 1 else "Исправьте поля: " + " ".join(messages)
            raise ValidationError(message, fields=self.fields)
