"""Every page, in every language, renders with no exception and no error."""

import pytest

from tests.app.helpers import assert_clean, open_page
from ui.i18n import LANGUAGES, catalog
from ui.lessons import LESSONS


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("lesson", [None, *LESSONS], ids=lambda x: x.name if x else "home")
def test_page_renders(lesson, lang):
    at = open_page(lesson.path if lesson else None, lang)
    assert_clean(at)
    name = lesson.name if lesson else "home"
    assert at.title[0].value == catalog(lang)[f"{name}.title"]


def test_language_is_kept_across_pages():
    at = open_page(None, "ru")
    at.switch_page("lessons/neuron/neuron.py").run()
    assert at.title[0].value == catalog("ru")["neuron.title"]
    assert at.query_params["lang"] in ("ru", ["ru"])


def test_unknown_language_falls_back_to_english():
    at = open_page(None, "xx")
    assert_clean(at)
    assert at.title[0].value == catalog("en")["home.title"]


def test_switching_language_in_the_sidebar_translates_every_page():
    at = open_page(None, "en")
    at.selectbox(key="lang_select").select("zh").run()
    assert at.title[0].value == catalog("zh")["home.title"]
    at.switch_page("lessons/neuron/neuron.py").run()
    assert at.title[0].value == catalog("zh")["neuron.title"]


def test_home_shows_a_card_for_every_lesson():
    at = open_page(None, "ru")
    text = catalog("ru")
    captions = [c.value for c in at.caption]
    assert all(x.ready for x in LESSONS)  # experiments is built: no lesson is only planned
    for lesson in LESSONS:
        assert text[f"{lesson.name}.lead"] in captions  # a card: the link and its lead
    assert text["home.planned"] not in captions
