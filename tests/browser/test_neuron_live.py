"""The `neuron` lesson's live element in a real browser: it redraws while the pointer drags, sends
nothing until release, and draws exactly the counts bn_core computes."""

import itertools
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from bn_core import neuron
from tests.app.neuron_reference import expected
from tests.browser.conftest import settled
from tests.browser.test_browser import ERRORS
from ui.i18n import catalog

pytestmark = pytest.mark.e2e


def open_live(page, server, query=""):
    page.goto(f"{server}/neuron?lang=en{query}")
    page.wait_for_function("() => globalThis.__bnLabNeuron && globalThis.__bnLabNeuron.last", timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()


AXES = (
    "() => Object.fromEntries(Object.entries(globalThis.__bnLabNeuron.last.charts).map(([k, c]) => [k, [c.lo, c.hi]]))"
)
# histogram areas and pinned ghosts drawn past their chart's plot (a pinned range outside the current axis was)
OUTSIDE = """() => [...document.querySelectorAll('.bnl-chart')].flatMap(chart => {
    const svg = chart.querySelector('svg'), width = svg.width.baseVal.value;
    return [...chart.querySelectorAll('.bnl-ghost, .bnl-area')].filter(p => p.getAttribute('d'))
        .map(p => p.getBBox()).filter(b => b.x < -0.5 || b.x + b.width > width + 0.5)
        .map(b => `${chart.dataset.chart}: ${b.x.toFixed(1)}..${(b.x + b.width).toFixed(1)} of ${width}`);
})"""


def drag(page, index, fraction_from, fraction_to, moves=30, each=None):
    slider = page.locator(".bnl-slider input").nth(index)
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    x0, x1 = (box["x"] + box["width"] * f for f in (fraction_from, fraction_to))
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, moves + 1):
        page.mouse.move(x0 + (x1 - x0) * i / moves, y)
        page.wait_for_timeout(16)
        if each is not None:
            each()


@pytest.mark.parametrize("query", ["", "&bn=1&n=100000"])
def test_a_drag_redraws_live_sends_nothing_until_release_and_draws_what_bn_core_computes(page, server, shots, query):
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    open_live(page, server, query)
    frames_before, messages_before = page.evaluate("() => globalThis.__bnLabNeuron.frames.length"), len(sent)
    zeros_before = page.get_by_test_id("stMetricValue").first.inner_text()
    axes = []  # each chart's axis as the drag goes on: it may widen, never rescale back mid-drag
    drag(page, 0, 0.58, 0.2, each=lambda: axes.append(page.evaluate(AXES)))  # w1 from 0.5 towards -1.8
    for before, after in itertools.pairwise(axes):
        for name, (lo, hi) in after.items():
            assert lo <= before[name][0] and hi >= before[name][1], (name, before, after)
    frames = page.evaluate("() => globalThis.__bnLabNeuron.frames.length") - frames_before
    assert frames >= 10  # it redrew while the pointer moved
    assert len(sent) == messages_before  # and told the server nothing
    drawn = page.evaluate("() => globalThis.__bnLabNeuron.last")
    page.mouse.up()
    page.wait_for_url(lambda url: "w1=" in url, timeout=15_000)
    assert len(sent) > messages_before
    w1 = float(parse_qs(urlparse(page.url).query)["w1"][0])
    assert w1 == pytest.approx(drawn["weights"][0])
    page.wait_for_function(
        "old => document.querySelector('[data-testid=stMetricValue]').innerText !== old", arg=zeros_before
    )
    # what the browser drew during the drag is what bn_core computes for those weights and this sample
    bn = "before" if "bn=1" in query else "off"
    n = 100_000 if "n=100000" in query else 10_000
    x = neuron.sample_inputs(n, 5.0, 1.0, seed=0)
    hold = {name: chart["hold"] for name, chart in drawn["charts"].items()}
    _, charts = expected(x, drawn["weights"], "relu", bn, hold)
    for name, (counts, lo, hi) in charts.items():
        assert drawn["charts"][name]["counts"] == counts, name
        assert (drawn["charts"][name]["lo"], drawn["charts"][name]["hi"]) == (lo, hi), name
    page.screenshot(path=str(shots / f"neuron-live-after-drag{'-bn' if bn != 'off' else ''}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_tall_bin_of_exact_zeros_is_cut_and_its_share_is_said_and_drawn_as_a_bar(page, server, shots, lang):
    page.goto(f"{server}/neuron?lang={lang}&w1=-1.08")
    page.wait_for_function("() => globalThis.__bnLabNeuron && globalThis.__bnLabNeuron.last", timeout=30_000)
    page.wait_for_load_state("networkidle")
    result = neuron.forward(neuron.sample_inputs(10_000, 5.0, 1.0, seed=0), -1.08, 0.5, 1.0, "relu", "off")
    share = float(np.mean(result.out == 0))
    assert share > 0.9  # the case the bar is for: one bin holds nearly the whole sample
    spike = page.locator(".bnl-chart[data-chart=out] .bnl-spike")
    said = f"{share * 100:.1f}".replace(".", "," if lang == "ru" else ".")
    assert said in spike.locator("text").text_content()
    whole = float(spike.locator(".bnl-share-all").get_attribute("width"))
    part = float(spike.locator(".bnl-share-part").get_attribute("width"))
    assert part / whole == pytest.approx(share, abs=1e-9)
    assert said in spike.locator(".bnl-share").get_attribute("aria-label")  # a screen reader hears the share
    page.locator(".bnl-chart[data-chart=out]").screenshot(path=str(shots / f"neuron-spike-{lang}.png"))


def test_arrow_keys_move_a_weight_by_one_step_and_send_it(page, server):
    open_live(page, server)
    slider = page.locator(".bnl-slider input").nth(2)  # w0 = 1.0
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    page.wait_for_url(lambda url: "w0=0.95" in url, timeout=15_000)
    assert slider.get_attribute("aria-valuetext") == "0.95"
    assert slider.get_attribute("aria-label") == catalog("en")["neuron.w0"]


def test_a_preset_moves_the_sliders_and_the_pinned_ghost_stays_while_dragging(page, server, shots):
    open_live(page, server)
    page.get_by_role("button", name=catalog("en")["neuron.pin"]).click()
    page.get_by_role("button", name=catalog("en")["neuron.unpin"]).and_(page.locator(":enabled")).wait_for()
    page.get_by_role("button", name=catalog("en")["neuron.preset_b"].format(w="−0.5, 0.25, 1")).click()
    page.wait_for_function(
        "() => JSON.stringify(globalThis.__bnLabNeuron.last.weights) === JSON.stringify([-0.5, 0.25, 1])"
    )
    metric = "() => parseFloat(document.querySelector('[data-testid=stMetricValue]').innerText)"
    page.wait_for_function(f"() => ({metric})() > 50")  # Preset B: about two thirds zeros
    assert page.evaluate(OUTSIDE) == []  # the pinned Preset A and Preset B both inside the plot
    zeros_before = page.get_by_test_id("stMetricValue").first.inner_text()
    drag(page, 0, 0.45, 0.15, moves=10)  # w1 down: the output moves left, away from the pinned one
    ghost = page.locator(".bnl-chart[data-chart=out] .bnl-ghost")
    assert len(ghost.get_attribute("d")) > 20  # still drawn mid-drag
    assert page.evaluate(OUTSIDE) == []
    page.mouse.up()
    # the release reaches the server (a new w2 in the link) and its metrics follow; Streamlit may replace the
    # metric's node on that rerun, so look it up afresh instead of holding a handle to it
    page.wait_for_url(lambda url: "w1=" in url and parse_qs(urlparse(url).query)["w1"] != ["-0.5"], timeout=15_000)
    page.wait_for_function(
        "old => document.querySelector('[data-testid=stMetricValue]').innerText !== old", arg=zeros_before
    )
    page.screenshot(path=str(shots / "neuron-live-pinned.png"), full_page=True)


def test_a_sample_travels_once_and_a_weight_change_sends_no_sample(page, server):
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f))))
    open_live(page, server, "&n=100000")
    assert max(received) > 800_000  # the sample, 2 x 100 000 float32
    assert sum(received) < 1_200_000
    received.clear()
    drag(page, 0, 0.58, 0.5, moves=5)
    page.mouse.up()
    page.wait_for_url(lambda url: "w1=" in url, timeout=15_000)
    settled(page)  # the rerun the release started has sent all it sends
    assert 0 < sum(received) < 100_000, received


def test_on_a_phone_the_sliders_and_every_chart_share_a_screen_and_a_touch_drag_redraws(browser, server, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    open_live(page, server, "&bn=1")
    slider = page.locator(".bnl-slider input").first
    # the slider at the top of the screen, below Streamlit's fixed header
    slider.evaluate("el => { el.style.scrollMarginTop = '64px'; el.scrollIntoView({block: 'start'}); }")
    settled(page)
    out_chart = page.locator(".bnl-chart[data-chart=out] svg").bounding_box()
    assert out_chart["y"] + out_chart["height"] < 844  # the last chart is still on this screen
    box = slider.bounding_box()
    x0, y = box["x"] + box["width"] * 0.58, box["y"] + box["height"] / 2
    cdp = context.new_cdp_session(page)
    frames = page.evaluate("() => globalThis.__bnLabNeuron.frames.length")
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y}]})
    for i in range(1, 21):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x0 - 4 * i, "y": y}]})
        page.wait_for_timeout(20)
    assert page.evaluate("() => globalThis.__bnLabNeuron.frames.length") - frames >= 5
    page.screenshot(path=str(shots / "neuron-live-phone.png"))
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_url(lambda url: "w1=" in url, timeout=15_000)
    context.close()


def test_plain_sliders_are_the_fallback(page, server):
    page.goto(f"{server}/neuron?lang=en&plain=1")
    page.wait_for_function("[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= 2")
    assert page.locator(".bnl-live").count() == 0
    assert page.get_by_text(catalog("en")["neuron.plain_note"]).count() == 1


def test_presenter_mode_for_a_projector_hides_the_named_controls(page, server, shots):
    open_live(page, server, "&present=1&hide=act,place")
    assert page.locator(".st-key-neuron-act").is_hidden()
    assert page.locator(".st-key-neuron-bn").is_visible()
    page.screenshot(path=str(shots / "neuron-present.png"))
