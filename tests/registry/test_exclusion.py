import pytest

from certapp.registry.exclusion import check_exclusion, normalise_name

EXCLUDED = [
    "МБУ ДО «Каратузская детская школа искусств»",
    "Муниципальное бюджетное учреждение дополнительного образования \"Детская школа искусств\" с. Каратузское",
    "ДЕТСКАЯ МУЗЫКАЛЬНАЯ ШКОЛА №1",
    "детская музыкальная школа им. П. И. Чайковского",
    "МАУ ДО „Детская хоровая школа «Соловушка»“",
    "МБУДО Детская  художественная   школа № 2",
    "Детская хореографическая школа имени Н. Г. Кривцова",
    "МКУ ДО 'Детская театральная школа'",
    "Детская цирковая школа «Арена»",
    "детская школа художественных ремёсел",
    "Детская школа художественных ремесел, г. Минусинск",
    "Детская школа-искусств № 3",
    "Детская шкoла искусств",  # a Latin "o" inside
    "«ДЕТСКАЯ ШКОЛА ИСКУССТВ» п. Нижний Кужебар",
    "Детская  Музыкальная  Школа",
    "МБОУ ДО ДШИ «Детская школа искусств Каратузского района»",
]
FLAGGED = [
    "МБУ ДО ДШИ № 1",
    "МАУ ДО «ДМШ им. Глинки»",
    "ДХШ г. Красноярска",
    "МБУ ДО \"ДШХР\"",
    "ДХорШ «Весна»",
]
PASSING = [
    "МБУ ДО «Центр детского творчества»",
    "Дом детского творчества с. Каратузское",
    "МБУ ДО «Каратузская ДЮСШ»",
    "Детско-юношеская спортивная школа",
    "МБОУ «Каратузская средняя общеобразовательная школа имени Героя Советского Союза Г. Г. Федотова»",
    "ИП Белов Сергей Александрович",
    "ООО «Детская школа программирования»",
    "ООО «Детская школа робототехники»",
    "АНО ДО «Школа искусств и ремёсел для взрослых»",
    "Музыкальная студия «Камертон»",
    "ДШИФР ООО",  # a word that merely starts like ДШИ
]


def test_there_are_at_least_thirty_names():
    assert len(EXCLUDED) + len(FLAGGED) + len(PASSING) >= 30


@pytest.mark.parametrize("name", EXCLUDED)
def test_special_names_are_excluded_citing_point_4(name):
    check = check_exclusion(name)
    assert check.excluded and not check.flagged
    assert "п. 1 и п. 4 постановления администрации Каратузского района № 458-п" in check.reason


@pytest.mark.parametrize("name", FLAGGED)
def test_abbreviations_are_flagged_for_a_person(name):
    check = check_exclusion(name)
    assert check.flagged and not check.excluded
    assert "458-п" in check.reason


@pytest.mark.parametrize("name", PASSING)
def test_other_providers_pass(name):
    assert check_exclusion(name) == (check_exclusion(name).__class__(False, False, None))


def test_the_short_name_is_checked_too():
    assert check_exclusion("МБУ ДО Каратузская школа", "Детская школа искусств").excluded


def test_normalisation():
    assert normalise_name("  «Детская»  шКОЛА—ИСКУССТВ №1 ё ") == "детская школа искусств е"
