"""Phones: at 390 x 844 every lesson keeps the chart its main control moves on the screen while the
control moves, and nothing is wider than the screen. Screenshots: artifacts/screenshots/phone-*.png."""

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import settled
from tests.browser.test_browser import ERRORS, PLOT
from ui.i18n import LANGUAGES, catalog

pytestmark = pytest.mark.e2e
WIDTH, HEIGHT = 390, 844
HEADER = 60  # Streamlit's fixed header covers the top of the screen

# Where an element is not covered (by the header, or by the controls that stay at the top on a phone)
# and wholly on the screen: its box, and the element found at three points down its middle.
SHOWN = """el => {
    const r = el.getBoundingClientRect(), x = r.left + r.width / 2;
    const inside = r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight;
    if (!el.isConnected) return null;  // replaced by a rerun since it was found: look again
    const root = el.getRootNode();  // a live element's shadow root, or the document
    const hits = [r.top + 4, r.top + r.height / 2, r.bottom - 4].map(y => root.elementFromPoint(x, y));
    return {inside, covered: hits.filter(h => !h || !(el.contains(h) || h.contains(el))).length,
            box: [r.left, r.top, r.right, r.bottom].map(Math.round)};
}"""
OVERFLOW = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    return {document: document.documentElement.scrollWidth, main: main.scrollWidth, screen: innerWidth};
}"""
# Scroll the chart just below whatever stays on top of it (the header, the controls' column)
BELOW_TOP = """el => {
    const sticky = [...document.querySelectorAll('.stColumn')].filter(c => getComputedStyle(c).position === 'sticky');
    const top = Math.max(64, ...sticky.map(c => parseFloat(getComputedStyle(c).top) + c.offsetHeight + 4));  // stuck
    el.style.scrollMarginTop = top + 'px';
    el.scrollIntoView({block: 'start'});
}"""
FIRST_HIT = """el => { const r = el.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + 4;
    const h = document.elementFromPoint(x, y); return !!h && (el.contains(h) || h.contains(el)); }"""
STUCK = "() => [...document.querySelectorAll('.stColumn')].some(c => getComputedStyle(c).position === 'sticky')"
TOP = "el => { el.style.scrollMarginTop = '64px'; el.scrollIntoView({block: 'start'}); }"


def assert_shown(page, locator, what):
    """Shown once the page has settled: a rerun replaces elements, can shift the layout for a moment
    and, while the new element mounts, leave the old one in the page beside it (both seen on a loaded
    machine), so look again for up to five seconds (two were once not enough in CI, for the neuron's
    live element in ru, 1 of 1 038 tests; 9 of 9 passed locally). A duplicate that stays fails."""
    state, duplicate = None, None
    for _ in range(25):
        try:
            state, duplicate = locator.evaluate(SHOWN), None
        except PlaywrightError as error:  # strict mode: the locator matched two elements
            state, duplicate = None, error
        if state is not None and state["inside"] and state["covered"] == 0:
            return
        page.wait_for_timeout(200)
    if duplicate is not None:
        raise duplicate
    assert state is not None and state["inside"] and state["covered"] == 0, (what, state)


def assert_no_overflow(page):
    widths = page.evaluate(OVERFLOW)
    assert widths["document"] <= widths["screen"] and widths["main"] <= widths["screen"], widths


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, has_touch=True, is_mobile=True)
    yield context.new_page()
    context.close()


def open_lesson(page, server, path, lang, ready):
    page.goto(f"{server}/{path}&lang={lang}" if "?" in path else f"{server}/{path}?lang={lang}")
    page.wait_for_function(ready, timeout=60_000)
    page.wait_for_load_state("networkidle", timeout=60_000)  # (as open_and_check: a busy machine)
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()


def move_slider_and_watch(page, slider, main, key, moves=3):
    """Press ``key`` on the slider (its thumb) a few times; after each press, once the page has redrawn
    (the link holds the new value), the slider's widget and the section's main picture are both on the
    screen. (The thumb's own box is wider than the knob: at the end of the track it passes the edge.)"""
    slider.evaluate("el => el.focus({preventScroll: true})")  # as a tap on it: the page stays where it is
    widget = slider.locator("xpath=ancestor::*[@data-testid='stSlider']")
    for _ in range(moves):
        before = page.url
        page.keyboard.press(key)
        page.wait_for_url(lambda url, before=before: url != before, timeout=30_000)
        settled(page)  # the rerun has drawn the new value
        assert_shown(page, widget, "slider")
        assert_shown(page, main, "main picture")


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_neuron_on_a_phone(phone, server, shots, lang):
    page = phone
    open_lesson(page, server, "neuron", lang, "() => globalThis.__bnLabNeuron && globalThis.__bnLabNeuron.last")
    slider = page.locator(".bnl-slider input").first
    chart = page.locator(".bnl-chart[data-chart=out] svg")
    slider.evaluate(TOP)
    slider.focus()
    for _ in range(5):
        frames = page.evaluate("() => globalThis.__bnLabNeuron.frames.length")
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("n => globalThis.__bnLabNeuron.frames.length > n", arg=frames, timeout=15_000)
        assert_shown(page, slider, "w1")
        assert_shown(page, chart, "output chart")
    page.wait_for_url(lambda url: "w1=0.45" in url, timeout=15_000)
    assert_no_overflow(page)
    page.screenshot(path=str(shots / f"phone-neuron-{lang}.png"))


# Every chart drawn and nothing still loading: until then the first chart in the page can be a later one
# (seen: the test scrolled to the third chart of inside "place", 1 700 px down, before the first was drawn)
DRAWN = """() => { const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return plots.length > 0 && plots.every(p => p.data) && !document.querySelector('[data-testid="stSkeleton"]'); }"""
# Each section whose main control is a slider in the controls' column: its link, its main picture and the key
# that moves the control away from its default (bn-lab "one" opens at N = 1: up, and its chart must not jump)
SECTIONS = {
    "bn_lab": ("bn-lab", PLOT, "ArrowLeft"),  # batch size N
    "bn_lab-running": ("bn-lab?section=running", PLOT, "ArrowRight"),
    "bn_lab-one": ("bn-lab?section=one", PLOT, "ArrowRight"),
    "bn_lab-eps": ("bn-lab?section=eps", ".st-key-bnlab-eps_outcome", "ArrowRight"),  # what ε does now
    "inside-axes": ("inside?section=axes", PLOT, "ArrowRight"),
    "inside-place": ("inside?section=place", PLOT, "ArrowRight"),
    "inside-devices": ("inside?section=devices", PLOT, "ArrowRight"),
    "inside": ("inside?section=noise", PLOT, "ArrowLeft"),  # batch size B
}


# Every language for the sections tested longest and the one a fix moved; Russian, whose labels are the longest
# (the controls' column the tallest), for the others: the suite's clock-bound part has a budget
EVERY_LANGUAGE = ("bn_lab", "bn_lab-one", "inside")
CASES = [(name, lang) for name in SECTIONS for lang in (LANGUAGES if name in EVERY_LANGUAGE else ["ru"])]


@pytest.mark.parametrize("name, lang", CASES)
def test_controls_beside_charts_on_a_phone(phone, server, shots, name, lang):
    page = phone
    path, main_selector, key = SECTIONS[name]
    open_lesson(page, server, path, lang, DRAWN)
    main = page.locator(main_selector).first
    # the controls' column sticks to the top once the frame's style applies: scroll below it only then
    # (once, in CI, the chart was scrolled under the header alone and the column then covered it)
    page.wait_for_function(STUCK, timeout=30_000)
    main.evaluate(BELOW_TOP)
    assert_shown(page, main, "main picture")
    slider = page.locator(".st-key-lesson_panel").get_by_role("slider").first
    move_slider_and_watch(page, slider, main, key)
    assert_no_overflow(page)
    page.screenshot(path=str(shots / f"phone-{name}-{lang}.png"))


# Sections whose main control is not a slider: the control the lead line names, and the main picture it moves
PRESSED = {
    "bn_lab-puzzle": ("bn-lab?section=puzzle", '[data-testid="stMetric"]', ".st-key-bnlab-ptrain input"),
    "inside-step": ("inside?section=step", ".st-key-inside-step_formula", ".st-key-inside-next button"),
}


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("name", PRESSED)
def test_a_pressed_control_and_its_picture_share_a_phone_screen(phone, server, shots, name, lang):
    page = phone
    path, main_selector, control_selector = PRESSED[name]
    open_lesson(page, server, path, lang, f"() => document.querySelector('{main_selector}')")
    main, control = page.locator(main_selector).first, page.locator(control_selector).first
    control.evaluate(TOP)
    for _ in range(2):  # the puzzle: on, then off again; the step: the next two steps
        before = page.url
        control.tap(force=True)  # (the toggle's input is drawn under its switch)
        page.wait_for_url(lambda url, before=before: url != before, timeout=30_000)
        settled(page)
        assert_shown(page, main, "main picture")
        assert_shown(page, control.locator("xpath=ancestor::*[contains(@class, 'st-key-')][1]"), "control")
    assert_no_overflow(page)
    page.screenshot(path=str(shots / f"phone-{name}-{lang}.png"))


def chart_fits_under_the_controls(page) -> None:
    """On a phone the page's first chart, scrolled just below the controls' column, starts on the screen
    with nothing over its top and two thirds of it in view (experiments: its controls set up a new
    computation, "Run it yourself", and do not move the chart; tests/browser/test_browser.py calls this)."""
    page.wait_for_function(DRAWN, timeout=60_000)
    page.wait_for_function(STUCK, timeout=30_000)
    chart = page.locator(PLOT).first
    chart.evaluate(BELOW_TOP)
    settled(page)
    state = chart.evaluate(SHOWN)
    top, bottom = state["box"][1], state["box"][3]
    assert min(bottom, page.viewport_size["height"]) - top >= 2 / 3 * (bottom - top), state
    assert chart.evaluate(FIRST_HIT), state  # nothing (the controls' column) lies over its top
    assert_no_overflow(page)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_train_on_a_phone_play_and_its_curves_share_the_screen(phone, server, shots, lang):
    page, text = phone, catalog(lang)
    open_lesson(page, server, "train", lang, "() => document.querySelector('.st-key-train-start button')")
    play = page.get_by_role("button", name=text["train.play"], exact=True)
    play.evaluate(TOP)
    play.click()
    page.wait_for_function(
        "() => globalThis.__bnLabPlayer && globalThis.__bnLabPlayer.last && globalThis.__bnLabPlayer.last.head > 0",
        timeout=120_000,
    )
    pause = page.get_by_role("button", name=text["player.pause"], exact=True)
    pause.evaluate(TOP)
    assert_shown(page, pause, "pause")  # the player's Pause, playing
    assert_shown(page, page.locator(".bnp-chart canvas").first, "accuracy curve")
    assert_no_overflow(page)
    page.screenshot(path=str(shots / f"phone-train-{lang}.png"))
    pause.click()
