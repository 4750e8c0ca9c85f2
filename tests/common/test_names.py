from types import SimpleNamespace

import pytest

from certapp.common.names import decline, detect_gender, genitive


@pytest.mark.parametrize("name, dative, genitive_form", [
    ("Петрова Анна Андреевна", "Петровой Анне Андреевне", "Петровой Анны Андреевны"),
    ("Иванов Пётр Сергеевич", "Иванову Петру Сергеевичу", "Иванова Петра Сергеевича"),
    ("Шевчук Мария Ивановна", "Шевчук Марии Ивановне", "Шевчук Марии Ивановны"),  # female: Шевчук stays
    ("Шевчук Илья Иванович", "Шевчуку Илье Ивановичу", "Шевчука Ильи Ивановича"),
    ("Салтыков-Щедрин Михаил Евграфович", "Салтыкову-Щедрину Михаилу Евграфовичу",
     "Салтыкова-Щедрина Михаила Евграфовича"),
])
def test_a_name_whose_gender_the_patronymic_tells_is_declined(name, dative, genitive_form):
    assert decline(name, "dative") == dative
    assert genitive(name) == genitive_form


def test_the_gender_is_detected_from_the_name():
    assert detect_gender("Петрова Анна Андреевна") == "female"
    assert detect_gender("Ким Иван") == "male"
    assert detect_gender("Ким Саша") is None
    assert detect_gender("№ 5") is None


def test_an_unknown_gender_declines_only_what_both_genders_decline_alike():
    # «Саша» is «Саше» for a boy and a girl; «Ким» is «Киму» for a boy only: it stays
    assert decline("Ким Саша", "dative") == "Ким Саше"
    assert decline("Ким Саша", "dative", gender="male") == "Киму Саше"
    assert decline("Ким Саша", "dative", gender="female") == "Ким Саше"
    assert decline("Ким Саша", "genitive") == "Ким Саши"


def test_a_known_gender_overrides_the_detection():
    assert decline("Шевчук Женя", "dative", gender="female") == "Шевчук Жене"
    assert decline("Шевчук Женя", "dative", gender="male") == "Шевчуку Жене"


def test_a_child_object_is_declined_part_by_part_and_an_anonymised_one_is_left_alone():
    child = SimpleNamespace(last_name="Петрова", first_name="Анна", patronymic=None, anonymised_at=None)
    assert decline(child, "dative") == "Петровой Анне"
    anonymised = SimpleNamespace(last_name="Обезличено", first_name="№ 12", patronymic=None, anonymised_at=1)
    assert decline(anonymised, "dative") == "Обезличено № 12"
    user = SimpleNamespace(full_name="Смирнова Ольга Петровна")
    assert decline(user, "dative") == "Смирновой Ольге Петровне"


def test_words_that_are_not_russian_names_stay_as_they_are():
    assert decline("Smith John", "dative") == "Smith John"
    assert decline("", "dative") == ""
    assert decline("Ахмедов Рустам Ахмед оглы", "dative") == "Ахмедову Рустаму Ахмед оглы"
