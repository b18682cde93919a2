"""Each page in each language in a real browser: title rendered, no error, screenshot saved."""

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Error as PlaywrightError
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.browser.axe import violations
from tests.browser.conftest import metric_label, press_until, settled, streamlit_server, until
from ui.i18n import LANGUAGES, catalog
from ui.lessons import HOME, LESSONS

pytestmark = pytest.mark.e2e
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


CHARTS = {"bn_lab": 2, "inside": 0, "experiments": 2}  # Plotly charts each page draws at its defaults
INSIDE_CHARTS = {"step": 0, "axes": 4, "stats": 2, "place": 3, "devices": 2, "noise": 2}  # per section
EXPERIMENT_CHARTS = {"sweep": 2, "renorm": 3, "lr": 1, "smoothness": 2}  # per section, precomputed at once


def open_and_check(page, server, lesson, lang, query="", errors_allowed=0, charts=None):
    page.goto(f"{server}/{lesson.url_path}?lang={lang}{query}")
    title = catalog(lang)[f"{lesson.name}.title"]
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle", timeout=60_000)  # (30 s, the default, once ran out in the shared part)
    page.wait_for_function(  # generous: the machine running the suite may be busy
        "n => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= n",
        arg=CHARTS.get(lesson.name, 0) if charts is None else charts,
        timeout=60_000,
    )
    assert page.locator(ERRORS).count() == errors_allowed, page.locator(ERRORS).all_inner_texts()
    assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").all_inner_texts()


def lead_in_view(page, key):
    """The section's first line, do -> see (ui.frame.lead), is on the screen without scrolling."""
    lead = page.locator(f".st-key-lead-{key}")
    lead.wait_for(timeout=30_000)
    box, height = lead.bounding_box(), page.viewport_size["height"]
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= height, (key, box, height)


def main_in_view(page, selector):
    """The section's main picture (its first chart, or what stands for one) starts on the screen without
    scrolling, and at least two thirds of it are in view (a tall chart's axis title may fall below the fold)."""
    main = page.locator(selector).first
    main.wait_for(timeout=30_000)
    box, height = main.bounding_box(), page.viewport_size["height"]
    assert box is not None, selector
    visible = min(box["y"] + box["height"], height) - max(box["y"], 0)
    assert box["y"] >= 0 and visible >= 2 / 3 * box["height"], (selector, box, height)


PLOT = ".js-plotly-plot"
DESKTOP = {"width": 1440, "height": 900}  # a classroom's laptop or projector: the do -> see line must be in view


def open_section(page, server, name, lang, query, charts, lead, main) -> None:
    """A lesson's section on a classroom's screen: drawn without an error, its do -> see line (``lead``) and its
    main picture (``main``) in view without scrolling, and no serious accessibility violation."""
    lesson = next(x for x in LESSONS if x.name == name)
    page.set_viewport_size(DESKTOP)
    open_and_check(page, server, lesson, lang, query, charts=charts)
    lead_in_view(page, lead)
    main_in_view(page, main)
    assert violations(page) == []


CHART_Y = "i => { const p = document.querySelectorAll('.js-plotly-plot')[i]; return p && p.data && JSON.stringify(p.data.map(t => t.y)); }"  # noqa: E501


def chart_data(page, index, differs_from=None):
    """The chart's bar heights as JSON, once the chart is drawn (a rerun remounts it for a moment),
    and, with ``differs_from``, once they differ from it."""
    return page.wait_for_function(
        f"([i, old]) => {{ const y = ({CHART_Y})(i); return y && y !== old && y; }}",
        arg=[index, differs_from],
        timeout=15_000,
    ).json_value()


# bn-lab: each question's section at a telling state, and how many charts it draws there
# and its main picture (in the puzzle, what the call returns; for ε, what it does
# to the channel now: at ε = 0 here, NaN, which the chart after BN cannot draw)
BN_LAB_SECTIONS = {
    "stats": ("", 2, PLOT),
    "running": ("&section=running&n=2&conv=keras&momentum=0.9&eps=0.001", 4, PLOT),
    "one": ("&section=one", 1, PLOT),  # it opens at N = 1: the input, and beside it "no output"
    "puzzle": ("&section=puzzle", 0, '[data-testid="stMetric"]'),
    "eps": ("&section=eps&conv=keras&dist=constant&eps=0&n=1024&mu=0.1&momentum=0.9", 2, ".st-key-bnlab-eps_outcome"),
}


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("section", list(BN_LAB_SECTIONS))
def test_bn_lab_section_renders_unclipped(page, server, shots, section, lang):
    query, charts, main = BN_LAB_SECTIONS[section]
    open_section(page, server, "bn_lab", lang, query, charts, f"bn_lab_{section}", main)
    page.set_viewport_size({"width": 1400, "height": 2200})  # the page scrolls inside: a tall window shows it all
    page.screenshot(path=str(shots / f"bn_lab-{section}-{lang}.png"), full_page=True)
    unclipped_on_both(page, shots, f"bn_lab-{section}-{lang}", f"bn-lab {section} in {lang}")


def test_bn_lab_section_picker_and_small_batch_sizes_by_keyboard(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "bn_lab")
    text = catalog("en")
    open_and_check(page, server, lesson, "en")
    page.get_by_role("radio", name=text["bn_lab.section_one"]).click()  # the picker's buttons are radios
    page.wait_for_url(lambda url: "section=one" in url, timeout=30_000)
    slider = page.get_by_role("slider").first  # the section's own batch size: it opens at 1
    page.get_by_text("(1, 3)").first.wait_for(timeout=30_000)  # "input (1, 3) …"
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_url(lambda url: "n1=2" in url, timeout=30_000)
    page.get_by_text("(2, 3)").first.wait_for(timeout=30_000)  # "input (2, 3) …, that is 2 values per channel"
    page.screenshot(path=str(shots / "bn_lab-one-n2-en.png"), full_page=True)


# the main picture where it is not the first chart: the step's formula with its numbers; the pair's player, or its
# place before Train
INSIDE_MAIN = {"step": ".st-key-inside-step_formula", "stats": ".st-key-inside-pair_view"}


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("section", INSIDE_CHARTS)
def test_inside_section_renders(page, server, shots, section, lang):
    query, main = f"&section={section}", INSIDE_MAIN.get(section, PLOT)
    open_section(page, server, "inside", lang, query, INSIDE_CHARTS[section], f"inside_{section}", main)
    page.set_viewport_size({"width": 1400, "height": 2600})  # Streamlit scrolls inside the page: show it all
    settled(page)
    page.screenshot(path=str(shots / f"inside-{section}-{lang}.png"))
    unclipped_on_both(page, shots, f"inside-{section}-{lang}", f"inside {section} in {lang}")


CHARTS_DRAWN = "n => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= n"
PLAYED = "() => globalThis.__bnLabPlayer && globalThis.__bnLabPlayer.last && globalThis.__bnLabPlayer.last.head > 0"
CURVES = "n => { const last = globalThis.__bnLabPlayer.last; return last.shown.every(k => k >= n); }"


def test_inside_stats_reset_while_computing_stops_the_polling(page, server):
    # Reset reruns only the lesson's part of the page (a fragment): the pair's polled fragment must go
    # with the pair, or the browser keeps asking for a rerun every second until something reloads the page.
    lesson = next(x for x in LESSONS if x.name == "inside")
    text = catalog("en")
    reruns = reruns_of(page)
    open_and_check(page, server, lesson, "en", "&section=stats&pb=2&plr=0.01&pseed=71", charts=2)  # computes long
    page.get_by_role("button", name=text["inside.pair_start"]).click()
    page.get_by_role("button", name=text["train.stop"]).wait_for(timeout=60_000)
    assert until(page, lambda: any(reruns), 30_000), "the pair was never polled"
    page.get_by_role("button", name=text["inside.pair_reset"], exact=True).click()
    page.get_by_role("button", name=text["inside.pair_start"]).wait_for(timeout=30_000)
    settled(page)  # the reruns under way when Reset was pressed have ended
    polled = len(reruns)
    page.wait_for_timeout(3000)  # not a pause: the time in which no rerun may be asked for (the pair polls each second)
    assert len(reruns) == polled, f"{len(reruns) - polled} reruns asked for in 3 s after Reset"
    assert page.locator(ERRORS).count() == 0


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_inside_stats_pair_trains_live_and_shows_the_gap(page, server, shots, lang):
    lesson = next(x for x in LESSONS if x.name == "inside")
    text = catalog(lang)
    page.set_viewport_size({"width": 1400, "height": 2600})
    open_and_check(page, server, lesson, lang, "&section=stats", charts=2)
    start = page.get_by_role("button", name=text["inside.pair_start"])
    press_until(start, lambda ms: page.wait_for_function(PLAYED, timeout=ms))  # played from the first steps computed
    page.wait_for_function(CURVES, arg=3, timeout=60_000)  # a few measures of each run drawn: curves, not dots
    page.screenshot(path=str(shots / f"inside-stats-live-{lang}.png"))
    page.get_by_text(text["inside.gap_title"]).wait_for(timeout=300_000)  # slow on a loaded machine
    page.wait_for_function(CHARTS_DRAWN, arg=3, timeout=60_000)
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
    settled(page)
    page.screenshot(path=str(shots / f"inside-stats-gap-{lang}.png"))


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("section", EXPERIMENT_CHARTS)
def test_experiments_section_renders(page, server, shots, section, lang):
    open_section(
        page, server, "experiments", lang, f"&section={section}", EXPERIMENT_CHARTS[section], f"exp_{section}", PLOT
    )
    page.set_viewport_size({"width": 1400, "height": 2200})  # Streamlit scrolls inside the page: show it all
    settled(page)
    page.screenshot(path=str(shots / f"experiments-{section}-{lang}.png"))
    from tests.browser.test_phone import HEIGHT, WIDTH, chart_fits_under_the_controls  # (it imports this module)

    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})  # the same page on a phone's screen
    chart_fits_under_the_controls(page)
    page.screenshot(path=str(shots / f"phone-experiments-{section}-{lang}.png"))
    unclipped_on_both(page, shots, f"experiments-{section}-{lang}", f"experiments {section} in {lang}")


def test_experiments_run_it_yourself_computes_and_draws_the_new_result(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "experiments")
    text = catalog("en")
    open_and_check(page, server, lesson, "en", "&section=lr&lrep=2&lrbs=128", charts=1)
    page.get_by_text(text["experiments.showing_defaults"][:30]).wait_for(timeout=30_000)
    page.get_by_role("button", name=text["experiments.run"]).click()
    page.get_by_text(text["experiments.from_computed"]).wait_for(timeout=300_000)  # slow on a loaded machine
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= 1")
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(shots / "experiments-lr-computed-en.png"), full_page=True)


def test_inside_step_through_and_section_picker(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "inside")
    text = catalog("en")
    open_and_check(page, server, lesson, "en", "&n=5&c=3")
    first = text["inside.step_of"].format(k=1, n=6, name=text["inside.step_mean"])
    page.get_by_text(first).wait_for(timeout=30_000)
    page.get_by_role("button", name=text["inside.next"]).click()
    second = text["inside.step_of"].format(k=2, n=6, name=text["inside.step_var"])
    page.get_by_text(second).wait_for(timeout=30_000)
    page.wait_for_url(lambda url: "step=1" in url, timeout=15_000)
    assert page.locator(ERRORS).count() == 0
    page.get_by_text(text["inside.sec_devices"], exact=True).click()
    page.wait_for_url(lambda url: "section=devices" in url, timeout=15_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= 2", timeout=30_000
    )
    assert page.locator(ERRORS).count() == 0
    # A slider of the new section reruns only the section (a fragment), without the step section's
    # widgets, whose keys Streamlit dropped in the run that switched: it must still draw, and link, all.
    page.get_by_role("slider").first.focus()  # the number of devices, 4
    page.keyboard.press("ArrowRight")
    page.wait_for_url(lambda url: "k=5" in url, timeout=15_000)
    settled(page)
    assert page.locator(ERRORS).count() == 0
    assert "step=1" in page.url and "section=devices" in page.url  # the other section's state stays in the link


def test_language_is_kept_when_navigating(page, server):
    open_and_check(page, server, HOME, "ru")
    page.get_by_role("link", name=catalog("ru")["nav.neuron"]).first.click()
    page.get_by_role("heading", name=catalog("ru")["neuron.title"]).wait_for(timeout=30_000)
    assert "lang=ru" in page.url


def test_deep_link_with_bad_values_shows_a_notice(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "neuron")
    open_and_check(page, server, lesson, "zh", "&w1=-0.5&w2=0.25&w0=1&n=1e12&act=<b>")
    notices = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    assert len(notices) == 1 and "1e12" in notices[0] and "<b>" in notices[0], notices
    page.screenshot(path=str(shots / "neuron-deep-link-zh.png"), full_page=True)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_train_a_run_live_and_see_its_results(page, server, shots, lang):
    lesson = next(x for x in LESSONS if x.name == "train")
    text = catalog(lang)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_and_check(page, server, lesson, lang, "&speed=500")  # the Figure 1 pair, played fast
    lead_in_view(page, "train")
    play = page.get_by_role("button", name=text["train.play"])
    box = play.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900  # Play is in view without scrolling
    # the player plays the records beside the controls (from the first steps computed)
    press_until(play, lambda ms: page.wait_for_function(PLAYED, timeout=ms))
    box = page.locator(".bnp-bar").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900  # the player's controls are in view too
    page.screenshot(path=str(shots / f"train-live-{lang}.png"))
    page.get_by_role("tab", name=text["train.tab_inside"]).wait_for(timeout=300_000)  # slow on a loaded machine
    metric_label(page, text["train.test_accuracy"]).wait_for(timeout=30_000)
    page.get_by_text(text["train.inside_intro"][:20]).wait_for(timeout=30_000)
    settled(page)
    page.get_by_text(text["train.inside_intro"][:20]).scroll_into_view_if_needed()  # Streamlit scrolls inside
    page.screenshot(path=str(shots / f"train-inside-{lang}.png"), full_page=True)
    page.get_by_text(text["train.hist_step"]).scroll_into_view_if_needed()  # the histograms at a chosen step
    settled(page)
    page.screenshot(path=str(shots / f"train-inside-histograms-{lang}.png"))
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
    # only the open tab is built: a tab change reruns the page and brings its content
    page.get_by_role("tab", name=text["train.tab_results"]).click()
    page.get_by_text(text["train.download_csv"]).wait_for(timeout=30_000)
    settled(page)
    page.get_by_role("tab", name=text["train.tab_results"]).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"train-results-{lang}.png"), full_page=True)
    page.get_by_role("tab", name=text["train.tab_predict"]).click()
    page.get_by_text(text["train.pick_note"][:20]).wait_for(timeout=30_000)
    settled(page)
    page.get_by_role("tab", name=text["train.tab_predict"]).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"train-predict-{lang}.png"), full_page=True)
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()


def reruns_of(page) -> list:
    """The reruns this page asks the server for (its websocket's rerun messages), as they happen."""
    asked = []

    def watch(ws):
        def sent(payload):
            if isinstance(payload, bytes):
                msg = BackMsg()
                msg.ParseFromString(payload)
                if msg.WhichOneof("type") == "rerun_script":
                    asked.append(msg.rerun_script.is_auto_rerun)

        ws.on("framesent", sent)

    page.on("websocket", watch)
    return asked


HEAD = "() => globalThis.__bnLabPlayer.last.head"


def test_train_playback_runs_in_the_browser_without_a_server_rerun(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "train")
    text = catalog("en")
    reruns = reruns_of(page)
    open_and_check(page, server, lesson, "en", "&preset=custom&epochs=30&hidden=16&seed=90&speed=20")  # 51 s to play
    page.get_by_role("button", name=text["train.play"]).click()
    page.get_by_role("tab", name=text["train.tab_results"]).wait_for(timeout=120_000)  # computed: a record now
    try:
        page.wait_for_function(PLAYED, timeout=60_000)
    except PlaywrightError:  # once in CI under load (not reproduced since): say what the player drew last
        page.screenshot(path=str(shots / "train-player-not-played.png"), full_page=True)
        last = page.evaluate(
            "() => globalThis.__bnLabPlayer && [globalThis.__bnLabPlayer.last, globalThis.__bnLabPlayer.played]"
        )
        raise AssertionError(f"the player did not play: last drawn {last}") from None
    settled(page)  # the reruns that brought the record have ended
    asked, start = len(reruns), page.evaluate(HEAD)
    page.wait_for_timeout(3000)  # not a pause: the time the record plays on, with no rerun asked for
    head = page.evaluate(HEAD)
    assert len(reruns) == asked, f"{len(reruns) - asked} reruns asked for while the record played"
    assert head > start  # it played on (its pace against the clock: benchmarks/classroom_play.py)
    page.get_by_role("button", name=text["player.pause"], exact=True).click()
    held = page.evaluate(HEAD)
    page.wait_for_timeout(1000)  # not a pause: paused for a second, the picture stays
    assert page.evaluate(HEAD) == held  # Pause holds the picture
    page.get_by_role("button", name=text["player.reset"], exact=True).click()
    assert page.evaluate(HEAD) == 0
    page.get_by_role("button", name=text["player.step"], exact=True).click()
    first = page.evaluate("() => globalThis.__bnLabPlayer.last")
    assert first["head"] > 0 and first["shown"] == [2, 2]  # the next measured step: step 0's measure and one more
    jump = page.locator(".bnp-mark").first
    if jump.count():  # a 90 % mark: the scrub bar jumps there
        jump.click()
        assert page.evaluate(HEAD) > 0
    assert len(reruns) == asked and page.locator(ERRORS).count() == 0
    page.screenshot(path=str(shots / "train-player-en.png"), full_page=True)


def test_train_batch_of_one_with_batchnorm_is_explained(page, server, shots):
    lesson = next(x for x in LESSONS if x.name == "train")
    open_and_check(page, server, lesson, "ru", "&preset=custom&bs=1", errors_allowed=1)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 1  # the explanation, by design
    assert page.get_by_role("button", name=catalog("ru")["train.play"]).is_disabled()
    page.screenshot(path=str(shots / "train-batch-of-one-ru.png"), full_page=True)


def test_a_queued_run_shows_its_place_and_starts_when_a_slot_frees(browser, shots):
    lesson = next(x for x in LESSONS if x.name == "train")
    text = catalog("zh")
    long_run = "&preset=custom&norm=none&epochs=100&hidden=512&bs=2&seed="  # one run per page, not a pair
    with streamlit_server(
        "streamlit-e2e-queue.log", env={"BN_LAB_MAX_RUNS": "1", "BN_LAB_RUNS_PER_WORKER": "1"}
    ) as base:
        first, second = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in "ab")
        for seed, page in enumerate((first, second)):  # other seeds: two computations, not one shared
            open_and_check(page, base, lesson, "zh", f"{long_run}{80 + seed}")
            page.get_by_role("button", name=text["train.play"]).click()
        first.locator('[data-testid="stProgress"]').wait_for(timeout=60_000)
        waiting = text["train.queued"].split("{")[0]
        second.get_by_text(waiting).wait_for(timeout=30_000)
        second.get_by_text(waiting).scroll_into_view_if_needed()
        second.screenshot(path=str(shots / "train-queued-zh.png"), full_page=True)
        first.get_by_role("button", name=text["train.stop"]).click()
        # the queued page notices within its next poll, and its player starts with the first steps computed
        second.get_by_text(waiting).wait_for(state="detached", timeout=60_000)
        second.locator('[data-testid="stProgress"]').wait_for(timeout=15_000)
        second.wait_for_function(PLAYED, timeout=60_000)
        second.get_by_role("button", name=text["train.stop"]).click()
        second.get_by_text(text["train.stopped_computing"]).wait_for(timeout=30_000)
        for page in (first, second):
            assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
            page.context.close()


def test_a_deep_link_as_the_first_request_after_a_start_gets_the_frame(page, fresh_server):
    """Regression: with a folder named pages/, Streamlit ran the page file alone (no frame,
    no language, file names in the sidebar) when a deep link was the server's first request."""
    page.goto(f"{fresh_server}/neuron?lang=zh")
    page.get_by_role("heading", name=catalog("zh")["neuron.title"]).wait_for(timeout=30_000)
    assert page.get_by_role("link", name=catalog("zh")["nav.train"]).count() >= 1


# ---- nothing clipped: every page, every language, desktop and phone widths -------------------------------

VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
# Text that must be read whole: widget labels (and a selectbox's chosen value), metric labels and values,
# page links (in the page and in the sidebar), button, tab and option labels, code lines, headings.
# Streamlit marks the containers it cuts with an ellipsis as .stMarkdownEllipsis.
CLIPPABLE = [
    ".stMarkdownEllipsis",
    ".stMarkdownEllipsis p",
    '[data-testid="stWidgetLabel"] p',
    '[data-testid="stMetricLabel"] p',
    '[data-testid="stMetricValue"] p',
    '[data-testid="stPageLink-NavLink"] p',
    '[data-testid="stSidebarNavLink"] p',
    '[data-testid="stCode"] pre',
    "h1, h2, h3, h4, h5, h6",
    "button p",
    '[role="tab"] p',
    "label p",
    "input",
]
CLIPPED = """selectors => {
    const seen = new Set(), found = [];
    for (const selector of selectors) for (const el of document.querySelectorAll(selector)) {
        if (seen.has(el)) continue;
        seen.add(el);
        const box = el.getBoundingClientRect();  // not shown: hidden, or in the sidebar folded away on a phone
        if (!el.getClientRects().length || el.clientWidth === 0 || box.right <= 0 || box.left >= innerWidth) continue;
        if (el.scrollWidth > el.clientWidth + 1)
            found.push(`${selector}: "${(el.value || el.innerText).trim().slice(0, 90)}" ` +
                       `(${el.scrollWidth} px in ${el.clientWidth} px)`);
    }
    return found;
}"""


# A Plotly chart drawn wider than its element has its right side, axis titles and legend cut off
# (presenter mode's CSS zoom did that: the chart measured its container unzoomed).
CHART_OVERFLOW = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(plot => {
    const svg = plot.querySelector('.main-svg'), frame = plot.closest('[data-testid="stElementContainer"]');
    if (!svg || !frame) return [];
    const drawn = svg.getBoundingClientRect().right, room = frame.getBoundingClientRect().right;
    const title = plot.querySelector('.gtitle')?.textContent;
    return drawn > room + 1 ? [`chart "${title}" ends at ${drawn} px, its element at ${room} px`] : [];
})"""


def unclipped(page, shots, name: str, where: str) -> None:
    """At the page's current size, with every expander open: no text in CLIPPABLE is cut and no chart is drawn
    wider than its element. Saves the top and the end of the page as ``name``-<width>(-end).png."""
    closed = page.locator("details:not([open]) > summary")
    for _ in range(closed.count()):  # the expanders' contents too
        closed.first.click()
    page.evaluate(TO_TOP)
    settled(page)
    width = page.viewport_size["width"]
    page.screenshot(path=str(shots / f"{name}-{width}.png"))
    page.locator('[data-testid="stMain"] [data-testid="stElementContainer"]').last.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{name}-{width}-end.png"))  # the page scrolls inside stMain, not the window
    clipped = page.evaluate(CLIPPED, CLIPPABLE) + page.evaluate(CHART_OVERFLOW)
    assert not clipped, f"{where} at {width} px:\n" + "\n".join(clipped)


TO_TOP = "() => { const main = document.querySelector('[data-testid=\"stMain\"]'); if (main) main.scrollTo(0, 0); }"


def unclipped_on_both(page, shots, name: str, where: str) -> None:
    """``unclipped`` at a desktop's size, then on a phone's: the same page resized, as a phone would have opened
    it (Streamlit folds the sidebar away on a resize as on a phone's first load; a probe found the two screens
    the same to a 2 x 21 px patch), and back."""
    for viewport in ("desktop", "phone"):
        width, height = VIEWPORTS[viewport]
        page.set_viewport_size({"width": width, "height": height})
        unclipped(page, shots, name, where)


LESSON = {x.name: x for x in LESSONS}
# every page at its defaults (bn-lab, inside and experiments: their sections' tests, below, open each section),
# and states with more text
STATES = [(x, "", None) for x in (HOME, *LESSONS) if x.name not in ("bn_lab", "inside", "experiments")] + [
    (LESSON["bn_lab"], "&n=1", 1),  # PyTorch's refusal in a code box; one chart
    (LESSON["neuron"], "&act=sigmoid&bn=1", 0),  # four metrics in a row (its charts are the live element's)
    (LESSON["bn_lab"], "&section=running&present=1", 4),  # presenter mode: larger text, charts in their width
]
STATE_IDS = [x.name + q.replace("&", "-").replace("=", "") for x, q, _ in STATES]  # e.g. bn_lab-n1


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("lesson, query, charts", STATES, ids=STATE_IDS)
def test_no_text_is_clipped(browser, server, shots, lesson, query, charts, lang):
    context = browser.new_context(viewport={"width": DESKTOP["width"], "height": DESKTOP["height"]})
    page = context.new_page()
    try:
        open_and_check(page, server, lesson, lang, query, charts=charts)
        if lesson.name == "neuron":  # the other lessons' lines: their sections' tests
            lead_in_view(page, "neuron")
            main_in_view(page, ".bnl-chart[data-chart=out]")  # the output histogram the weights move
        assert violations(page) == [], f"/{lesson.url_path}?lang={lang}{query}"
        name = f"{lesson.name}{query.replace('&', '-').replace('=', '')}-{lang}"  # e.g. bn_lab-n1-ru(-390.png)
        unclipped_on_both(page, shots, name, f"/{lesson.url_path}?lang={lang}{query}")
    finally:
        context.close()


# ---- link notices, state across navigation, wrong addresses ----------------------------------------------

HOSTILE_LINK = "&w1=%5Bclick%20me%5D(https%3A%2F%2Fexample.org%2F)&w2=!%5B%5D(http%3A%2F%2Fhost%2Ft.png)&act=%3Cb%3Ebold%3C%2Fb%3E&n=nan&sd=-inf"  # noqa: E501


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_a_hostile_link_gives_one_literal_notice_gone_after_a_slider_move(browser, server, shots, lang, viewport):
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if urlparse(r.url).hostname in ("host", "example.org") else None)
    try:
        lesson = next(x for x in LESSONS if x.name == "neuron")
        open_and_check(page, server, lesson, lang, HOSTILE_LINK)
        notices = page.locator('[data-testid="stAlertContentWarning"]')
        assert notices.count() == 1
        notice = notices.first
        assert notice.locator("a, img, b").count() == 0  # nothing of the link is rendered
        assert "[click me](https://exam" in notice.inner_text()
        page.screenshot(path=str(shots / f"notice-{lang}-{width}.png"), full_page=True)
        assert fetched == []
        page.get_by_role("slider").first.focus()  # the neuron lesson reruns only its fragment on a move
        page.keyboard.press("ArrowRight")
        notices.first.wait_for(state="detached", timeout=15_000)
        page.get_by_role("heading", name=catalog(lang)["neuron.title"]).wait_for()
        assert notices.count() == 0
    finally:
        context.close()


def test_a_lesson_is_as_the_student_left_it_after_visiting_another(page, server):
    text = catalog("en")
    neuron = next(x for x in LESSONS if x.name == "neuron")
    open_and_check(page, server, neuron, "en")
    page.get_by_role("slider").first.focus()
    for _ in range(30):
        page.keyboard.press("ArrowLeft")
    page.wait_for_url(lambda url: re.search(r"w1=0\.2(&|$)", url), timeout=15_000)  # not 0.24 on the way
    page.locator('[data-testid="stSidebarNavLink"]', has_text=text["nav.bn_lab"]).click()
    page.get_by_role("heading", name=text["bn_lab.title"]).wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert "w1=" not in page.url and page.locator('[data-testid="stAlertContentWarning"]').count() == 0
    page.locator('[data-testid="stSidebarNavLink"]', has_text=text["nav.neuron"]).click()
    page.get_by_role("heading", name=text["neuron.title"]).wait_for(timeout=30_000)
    page.wait_for_url(lambda url: re.search(r"w1=0\.2(&|$)", url), timeout=15_000)  # not 0.24 on the way
    assert float(page.locator(".bnl-slider input").first.input_value()) == 0.2  # the live element's w1


@pytest.mark.parametrize("lang", ["ru", "zh"])
def test_a_wrong_address_gets_a_translated_page_and_a_long_link_is_dropped(page, server, lang):
    page.goto(f"{server}/no-such-lesson?lang={lang}&junk={'x' * 10_000}")
    page.get_by_role("heading", name=catalog(lang)["error.not_found_title"]).wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").all_inner_texts()
    assert page.get_by_text(catalog(lang)["error.not_found"]).count() == 1
    page.wait_for_url(lambda url: "junk" not in url, timeout=15_000)
    page.goto(f"{server}/?lang={lang}&junk={'x' * 10_000}")
    page.get_by_role("heading", name=catalog(lang)["home.title"]).wait_for(timeout=30_000)
    page.wait_for_url(lambda url: len(url) < 100, timeout=15_000)
