"""Each page in each language in a real browser: title rendered, no error, screenshot saved."""

import json
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.conftest import streamlit_server
from ui.i18n import LANGUAGES, catalog
from ui.lessons import HOME, LESSONS

pytestmark = pytest.mark.e2e
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


CHARTS = {"neuron": 2, "bn_lab": 4}  # charts each page draws at its defaults


def open_and_check(page, server, lesson, lang, query="", errors_allowed=0):
    page.goto(f"{server}/{lesson.url_path}?lang={lang}{query}")
    title = catalog(lang)[f"{lesson.name}.title"]
    page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "n => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= n",
        arg=CHARTS.get(lesson.name, 0),
        timeout=30_000,
    )
    assert page.locator(ERRORS).count() == errors_allowed, page.locator(ERRORS).all_inner_texts()
    assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").all_inner_texts()


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("lesson", [HOME, *LESSONS], ids=lambda x: x.name)
def test_page_renders(page, server, shots, lesson, lang):
    open_and_check(page, server, lesson, lang)
    page.screenshot(path=str(shots / f"{lesson.name}-{lang}.png"), full_page=True)


CHART_Y = "i => { const p = document.querySelectorAll('.js-plotly-plot')[i]; return p && p.data && JSON.stringify(p.data.map(t => t.y)); }"  # noqa: E501


def chart_data(page, index, differs_from=None):
    """The chart's bar heights as JSON, once the chart is drawn (a rerun remounts it for a moment),
    and, with ``differs_from``, once they differ from it."""
    return page.wait_for_function(
        f"([i, old]) => {{ const y = ({CHART_Y})(i); return y && y !== old && y; }}",
        arg=[index, differs_from],
        timeout=15_000,
    ).json_value()


def test_neuron_slider_move_redraws_the_chart(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "neuron")
    open_and_check(page, server, lesson, "en")
    before = chart_data(page, 1)
    page.get_by_role("slider").first.focus()
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    after = chart_data(page, 1, differs_from=before)
    assert json.loads(after) != json.loads(before)
    page.wait_for_url(lambda url: "w1=" in url, timeout=15_000)
    w1 = float(parse_qs(urlparse(page.url).query)["w1"][0])
    assert 0.5 < w1 <= 0.7  # the new state is in the link
    page.screenshot(path=str(shots / "neuron-after-slider.png"), full_page=True)


def test_language_is_kept_when_navigating(page, server):
    open_and_check(page, server, HOME, "ru")
    page.get_by_role("link", name=catalog("ru")["nav.neuron"]).first.click()
    page.get_by_role("heading", name=catalog("ru")["neuron.title"]).wait_for(timeout=30_000)
    assert "lang=ru" in page.url


def test_deep_link_with_bad_values_shows_a_notice(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "neuron")
    open_and_check(page, server, lesson, "zh", "&w1=-0.5&w2=0.25&w0=1&n=1e12&act=<b>")
    notices = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    assert len(notices) == 2, notices
    page.screenshot(path=str(shots / "neuron-deep-link-zh.png"), full_page=True)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_train_a_run_live_and_see_its_results(page, server, shots, lang):
    lesson = next(x for x in LESSONS if x.name == "train")
    text = catalog(lang)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_and_check(page, server, lesson, lang, "&speed=max")  # the Figure 1 pair, as fast as it can
    play = page.get_by_role("button", name=text["train.play"])
    box = play.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900  # Play is in view without scrolling
    play.click()
    # the counter and the step charts grow beside the controls while the pair trains
    progress = page.locator('[data-testid="stProgress"]')
    progress.wait_for(timeout=60_000)
    page.wait_for_function("[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= 2")
    box = progress.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900  # the progress is in view too
    page.screenshot(path=str(shots / f"train-live-{lang}.png"))
    page.get_by_role("tab", name=text["train.tab_inside"]).wait_for(timeout=300_000)  # slow on a loaded machine
    page.get_by_text(text["train.test_accuracy"]).first.wait_for(timeout=30_000)
    page.get_by_text(text["train.inside_intro"][:20]).wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)
    page.get_by_text(text["train.inside_intro"][:20]).scroll_into_view_if_needed()  # Streamlit scrolls inside
    page.screenshot(path=str(shots / f"train-inside-{lang}.png"), full_page=True)
    page.get_by_text(text["train.hist_step"]).scroll_into_view_if_needed()  # the histograms at a chosen step
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / f"train-inside-histograms-{lang}.png"))
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
    # only the open tab is built: a tab change reruns the page and brings its content
    page.get_by_role("tab", name=text["train.tab_results"]).click()
    page.get_by_text(text["train.download_csv"]).wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    page.get_by_role("tab", name=text["train.tab_results"]).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"train-results-{lang}.png"), full_page=True)
    page.get_by_role("tab", name=text["train.tab_predict"]).click()
    page.get_by_text(text["train.pick_note"][:20]).wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    page.get_by_role("tab", name=text["train.tab_predict"]).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"train-predict-{lang}.png"), full_page=True)
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()


def test_train_batch_of_one_with_batchnorm_is_explained(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "train")
    open_and_check(page, server, lesson, "ru", "&preset=custom&bs=1", errors_allowed=1)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 1  # the explanation, by design
    assert page.get_by_role("button", name=catalog("ru")["train.play"]).is_disabled()
    page.screenshot(path=str(shots / "train-batch-of-one-ru.png"), full_page=True)


def test_a_queued_run_shows_its_place_and_starts_when_a_slot_frees(browser, shots):
    lesson = next(x for x in LESSONS if x.name == "train")
    text = catalog("zh")
    long_run = "&preset=custom&norm=none&epochs=50&hidden=512&bs=8"  # one run per page, not a pair
    with streamlit_server("streamlit-e2e-queue.log", env={"BN_LAB_MAX_RUNS": "1"}) as base:
        first, second = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in "ab")
        for page in (first, second):
            open_and_check(page, base, lesson, "zh", long_run)
            page.get_by_role("button", name=text["train.play"]).click()
        first.locator('[data-testid="stProgress"]').wait_for(timeout=60_000)
        waiting = text["train.queued"].split("{")[0]
        second.get_by_text(waiting).wait_for(timeout=30_000)
        second.get_by_text(waiting).scroll_into_view_if_needed()
        second.screenshot(path=str(shots / "train-queued-zh.png"), full_page=True)
        first.get_by_role("button", name=text["train.stop"]).click()
        # the queued page notices within its slower queue poll and starts polling at the training pace
        second.locator('[data-testid="stProgress"]').wait_for(timeout=15_000)
        assert second.get_by_text(waiting).count() == 0
        second.get_by_role("button", name=text["train.stop"]).click()
        second.get_by_role("tab", name=text["train.tab_results"]).wait_for(timeout=30_000)
        for page in (first, second):
            assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
            page.context.close()


def test_a_deep_link_as_the_first_request_after_a_start_gets_the_frame(page, fresh_server):
    """Regression: with a folder named pages/, Streamlit ran the page file alone (no frame,
    no language, file names in the sidebar) when a deep link was the server's first request."""
    page.goto(f"{fresh_server}/neuron?lang=zh")
    page.get_by_role("heading", name=catalog("zh")["neuron.title"]).wait_for(timeout=30_000)
    assert page.get_by_role("link", name=catalog("zh")["nav.train"]).count() >= 1
