"""Every language has every key, with the same placeholders."""

import string

import pytest

from ui.i18n import DEFAULT_LANG, LANGUAGES, catalog


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != DEFAULT_LANG])
def test_same_keys_and_placeholders_as_english(lang):
    en, other = catalog(DEFAULT_LANG), catalog(lang)
    assert sorted(set(en) - set(other)) == [], "missing in " + lang
    assert sorted(set(other) - set(en)) == [], "extra in " + lang
    for key in en:
        assert placeholders(en[key]) == placeholders(other[key]), key


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_no_empty_strings(lang):
    assert [k for k, v in catalog(lang).items() if not v.strip()] == []


def test_translations_are_not_english_copies():
    en, ru, zh = catalog("en"), catalog("ru"), catalog("zh")
    prose = [k for k, v in en.items() if len(v) > 40]
    assert all(ru[k] != en[k] and zh[k] != en[k] for k in prose)
