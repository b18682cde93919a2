"""The copy-link control in a real browser: the address bar's link goes to the clipboard, and where
the browser gives no clipboard (plain http on a classroom network) the link is shown, selected. And the code
for this: what its copy button copies is what its download button gives."""

import pytest

from ui.i18n import catalog

pytestmark = pytest.mark.e2e


def open_with_copy_link(page, server, path):
    page.goto(f"{server}/{path}")
    page.locator(".bnl-copy").wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")


def test_copy_link_puts_the_pages_current_link_on_the_clipboard(browser, server, shots):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        open_with_copy_link(page, server, "neuron?lang=ru")
        page.locator(".bnl-slider input").first.focus()  # a state worth sharing: w1 moved, mirrored to the link
        page.keyboard.press("ArrowLeft")
        page.wait_for_url(lambda url: "w1=0.49" in url, timeout=15_000)
        page.locator(".bnl-copy").click()
        page.get_by_text(catalog("ru")["share.copied"]).wait_for(timeout=5_000)
        assert page.evaluate("navigator.clipboard.readText()") == page.url
        assert page.locator(".bnl-copy-fallback").is_hidden()
        page.screenshot(path=str(shots / "share-copied-ru.png"))
    finally:
        context.close()


def test_without_a_clipboard_the_link_is_shown_selected(browser, server, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")  # as on plain http
    page = context.new_page()
    try:
        open_with_copy_link(page, server, "bn-lab?lang=zh&section=one&n=1")
        page.locator(".bnl-copy").click()
        field = page.locator(".bnl-copy-link")
        field.wait_for(timeout=5_000)
        assert field.input_value() == page.url and "section=one" in page.url
        assert field.evaluate("el => el.selectionStart === 0 && el.selectionEnd === el.value.length")
        assert page.get_by_text(catalog("zh")["share.fallback"]).is_visible()
        page.screenshot(path=str(shots / "share-fallback-zh-390.png"))
    finally:
        context.close()


def test_a_preset_sets_the_lesson_and_its_link(page, server):
    text = catalog("en")
    open_with_copy_link(page, server, "neuron?lang=en")
    page.get_by_role("button", name=text["share.presets"], exact=True).click()
    page.get_by_role("button", name=text["share.neuron.dead_relu"], exact=True).click()
    page.wait_for_url(lambda url: "w1=-0.5" in url and "w2=-0.5" in url, timeout=30_000)
    page.wait_for_function(
        "() => { const l = globalThis.__bnLabNeuron && globalThis.__bnLabNeuron.last; "
        "return l && l.weights && l.weights[0] === -0.5 && l.weights[1] === -0.5; }",
        timeout=30_000,
    )  # the live element moved its sliders too


def test_the_code_for_this_copies_what_it_downloads(browser, server, shots):
    """The script's copy button (Streamlit's, on the code block) puts on the clipboard exactly the file the
    download button gives, and both are the section's script in the page's language."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page, lang = context.new_page(), "zh"
    try:
        page.goto(f"{server}/bn-lab?lang={lang}&section=one")
        title = catalog(lang)["code.title"]
        page.get_by_text(title).wait_for(timeout=60_000)
        page.get_by_text(title).click()
        block = page.locator('[data-testid="stExpander"]', has_text=title).locator('[data-testid="stCode"]')
        block.wait_for(timeout=15_000)
        block.hover()
        block.get_by_role("button").first.click()  # Streamlit's copy button, shown on hover
        copied = page.evaluate("navigator.clipboard.readText()")
        with page.expect_download(timeout=15_000) as done:
            page.get_by_role("button", name=catalog(lang)["code.download"]).click()
        downloaded = open(done.value.path(), encoding="utf-8").read()
        assert done.value.suggested_filename == "bn_lab_one_pytorch.py"
        assert copied.strip() == downloaded.strip() and catalog(lang)["code.checked"].split("{")[0] in downloaded
        page.screenshot(path=str(shots / f"code-for-this-{lang}.png"))
    finally:
        context.close()
