"""A person's name in an oblique case: «Ребёнку Петровой Анне Андреевне выдан…».

The petrovich rules (pytrovich, the petrovich project's Python port) decline each part: the last name,
the first name and the patronymic. The gender is taken when it is known, else detected from the name
(a patronymic settles it). When it cannot be told (no patronymic, a first name and a last name that fit
both: «Ким Саша»), a part is declined only where both genders decline it alike («Саше»), and left as it
is otherwise («Ким» declines for a boy, not for a girl): better an undeclined name than a wrong gender.
A part that is not a Russian word (an anonymised record's «№ 12», a Latin name) is left as it is.
"""
import functools
import re

from pytrovich import Case, Gender, NamePart, PetrovichDeclinationMaker, PetrovichGenderDetector

CASES = {"genitive": Case.GENITIVE, "dative": Case.DATIVE, "accusative": Case.ACCUSATIVE,
         "instrumental": Case.INSTRUMENTAL, "prepositional": Case.PREPOSITIONAL}
GENDERS = {"male": Gender.MALE, "female": Gender.FEMALE}
_WORD = re.compile(r"[А-ЯЁа-яё]+(?:[-'][А-ЯЁа-яё]+)*")


@functools.cache
def _maker() -> PetrovichDeclinationMaker:
    return PetrovichDeclinationMaker()  # parses the rules file once


@functools.cache
def _detector() -> PetrovichGenderDetector:
    return PetrovichGenderDetector()


def _parts(person) -> tuple[str | None, str | None, str | None]:
    """(last name, first name, patronymic) of a Child, of a User (its full_name), or of a text
    «Фамилия Имя Отчество» (a patronymic of two words, «Ахмед оглы», stays whole)."""
    if hasattr(person, "last_name"):
        return person.last_name, person.first_name, getattr(person, "patronymic", None)
    if person is None:
        return None, None, None
    words = (person if isinstance(person, str) else person.full_name or "").split()
    return (words[0] if words else None, words[1] if len(words) > 1 else None,
            " ".join(words[2:]) or None)


def detect_gender(person) -> str | None:
    """"male", "female" or None (the name does not tell)."""
    last, first, patronymic = _parts(person)
    given = {k: v for k, v in (("lastname", last), ("firstname", first), ("middlename", patronymic))
             if v and _WORD.fullmatch(v)}
    if not given:
        return None
    return {Gender.MALE: "male", Gender.FEMALE: "female"}.get(_detector().detect(**given))


def _decline_part(part: NamePart, word: str | None, case: Case, gender: str | None) -> str | None:
    if not word or not _WORD.fullmatch(word):
        return word
    if gender:
        return _maker().make(part, GENDERS[gender], case, word)
    male, female = (_maker().make(part, g, case, word) for g in (Gender.MALE, Gender.FEMALE))
    return male if male == female else word


def decline(person, case: str, gender: str | None = None) -> str:
    """The full name of `person` (a Child, a User, or a text «Фамилия Имя Отчество») in `case` (one of
    CASES); gender "male"/"female" when known, else detected from the name. An anonymised child's
    placeholder name stays as it is."""
    last, first, patronymic = _parts(person)
    if getattr(person, "anonymised_at", None):
        return " ".join(p for p in (last, first, patronymic) if p)
    gender = gender or detect_gender(person)
    parts = (_decline_part(NamePart.LASTNAME, last, CASES[case], gender),
             _decline_part(NamePart.FIRSTNAME, first, CASES[case], gender),
             _decline_part(NamePart.MIDDLENAME, patronymic, CASES[case], gender))
    return " ".join(p for p in parts if p)


def genitive(person, gender: str | None = None) -> str:
    """«для ребёнка Петровой Анны Андреевны»"""
    return decline(person, "genitive", gender)


def dative(person, gender: str | None = None) -> str:
    """«Ребёнку Петровой Анне Андреевне»"""
    return decline(person, "dative", gender)
