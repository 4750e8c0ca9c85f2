"""The art-school exclusion of п. 1 and п. 4 of 458-п, as one function over a normalised name."""
import re
from dataclasses import dataclass

#: Latin letters that look like Cyrillic ones, as found in copied names
_HOMOGLYPHS = str.maketrans("aceopxykmthb", "асеорхукмтнв")

#: the eight special names of п. 4 of 458-п, normalised
SPECIAL_NAMES = (
    "детская школа искусств",
    "детская музыкальная школа",
    "детская хоровая школа",
    "детская художественная школа",
    "детская хореографическая школа",
    "детская театральная школа",
    "детская цирковая школа",
    "детская школа художественных ремесел",
)
#: the usual abbreviations: not proof on their own, a person decides
ABBREVIATIONS = ("дши", "дмш", "дхш", "дхорш", "дхоршк", "дтш", "дцш", "дшхр")

LEGAL_REASON = ("Организации дополнительного образования со специальными наименованиями «детская школа "
                "искусств», «детская музыкальная школа» и др. не участвуют в отборе исполнителей услуг "
                "(п. 1 и п. 4 постановления администрации Каратузского района № 458-п от 16.05.2023).")


@dataclass(frozen=True)
class ExclusionCheck:
    excluded: bool
    flagged: bool
    reason: str | None


def normalise_name(name: str) -> str:
    """Lower case, ё→е, Latin look-alikes→Cyrillic, quotes/punctuation/numbers→space, one space."""
    text = (name or "").lower().replace("ё", "е").translate(_HOMOGLYPHS)
    text = re.sub(r"[^\w\s]|[\d_]", " ", text)
    return " ".join(text.split())


def check_exclusion(*names: str, extra: tuple[str, ...] = (), extra_basis: str = "") -> ExclusionCheck:
    """Check the full and short names of an applicant against п. 4 of 458-п and against the name
    fragments a municipality's own order adds (`extra`, with that order as `extra_basis`)."""
    normalised = [f" {normalise_name(n)} " for n in names if n]
    for text in normalised:
        for special in SPECIAL_NAMES:
            if f" {special} " in text:
                return ExclusionCheck(True, False, f"В наименовании есть «{special}». {LEGAL_REASON}")
        for fragment in filter(None, (normalise_name(f) for f in extra)):
            if f" {fragment} " in text:
                return ExclusionCheck(True, False, f"В наименовании есть «{fragment}»: такие организации не участвуют "
                                                   f"в отборе исполнителей ({extra_basis}).")
    for text in normalised:
        for abbreviation in ABBREVIATIONS:
            if f" {abbreviation} " in text:
                return ExclusionCheck(False, True, (
                    f"В наименовании есть сокращение «{abbreviation.upper()}», которое может означать детскую "
                    "школу искусств (п. 4 постановления № 458-п). Проверьте устав и лицензию заявителя."))
    return ExclusionCheck(False, False, None)
