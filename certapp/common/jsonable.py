"""Plain data made ready for JSON: dates and datetimes as ISO strings, nested dicts and lists."""
from datetime import date, datetime


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
