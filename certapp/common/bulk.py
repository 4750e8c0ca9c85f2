"""One action over many rows, each in a savepoint of its own inside the request's one transaction:
a refusal of one row (a full group, a wrong state) undoes only that row and is reported with its
reason; the rest commit together with the request."""
from dataclasses import dataclass, field

from certapp.common.errors import DomainError, ValidationError
from certapp.db import db

#: rows one request may act on (a page of a list)
MAX_ROWS = 200


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    #: (row id, machine code, Russian message)
    refused: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def refusals(self) -> list[dict]:
        return [{"id": row_id, "status": code, "message": message} for row_id, code, message in self.refused]


def clean_ids(ids) -> list[int]:
    """The distinct ids of a request, in order; refuses none or too many."""
    result = list(dict.fromkeys(int(i) for i in ids or []))
    if not result:
        raise ValidationError("Отметьте хотя бы одну строку.", field="ids")
    if len(result) > MAX_ROWS:
        raise ValidationError(f"За один раз можно обработать не больше {MAX_ROWS} строк.", field="ids")
    return result


def for_each(ids, action) -> BulkResult:
    """Call action(id) for every id, each in a savepoint; collect what was refused. The caller commits."""
    result = BulkResult()
    for row_id in clean_ids(ids):
        try:
            with db.session.begin_nested():  # one row's refusal is recorded and the rest goes on: a savepoint undoes that row only
                action(row_id)
        except DomainError as error:
            result.refused.append((row_id, error.code, error.message))
        else:
            result.done.append(row_id)
    return result
