"""Factories for the main objects, built through the services so that the rules hold."""
import itertools

from certapp.accounts import services as account_services

PASSWORD = "Test-password-2026"
_seq = itertools.count(1)

PHONES = itertools.count(79130001000)


def make_user(role: str = "parent", email: str | None = None, **kwargs):
    n = next(_seq)
    return account_services.register_user(
        email=email or f"{role}{n}@example.ru", password=kwargs.pop("password", PASSWORD),
        full_name=kwargs.pop("full_name", f"Тестов Тест {role} {n}"),
        phone=kwargs.pop("phone", f"+{next(PHONES)}"), role=role, self_registration=False, **kwargs)


def make_token(user) -> str:
    _, token = account_services.create_token(user, "tests")
    return token
