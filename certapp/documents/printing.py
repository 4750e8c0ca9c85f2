"""What the printed documents of every feature share beyond the layout (certapp/common/printing.py): the
issuer's header line and the parties as the registry and the reference data name them."""
from typing import Any

from certapp.common.printing import Party
from certapp.reference.models import Municipality


def issuer(municipality: Municipality | None) -> str:
    """«Каратузский район. Управление образования администрации …»: the header line of a document."""
    if municipality is None:
        return "Управление образования"
    return f"{municipality.name}. {municipality.authority or 'Управление образования'}"


def authority_party(municipality: Municipality, role: str = "Уполномоченный орган") -> Party:
    order = f"; постановление {municipality.order}" if municipality.order else ""
    return Party(role, municipality.authority or f"Управление образования ({municipality.name})",
                 f"{municipality.name}, ОКТМО {municipality.oktmo}{order}")


def provider_party(provider: Any, role: str = "Исполнитель услуг") -> Party:
    """A provider (or a registry application, which holds the same details) as a party."""
    kpp = f", КПП {provider.kpp}" if provider.kpp else ""
    return Party(role, provider.full_name,
                 f"ИНН {provider.inn}{kpp}, ОГРН {provider.ogrn}; {provider.legal_address}; "
                 f"в лице: {provider.head_position} {provider.head_name}")


def bank_details(provider: Any) -> str:
    return f"БИК {provider.bik}, расчётный счёт {provider.settlement_account}"
