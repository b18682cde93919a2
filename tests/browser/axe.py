"""Accessibility: axe-core (installed from npm into .axe by scripts/install.sh --dev) run inside the page
against the WCAG 2.1 A and AA rules. A page passes with no serious or critical violation."""

from tests.app.helpers import ROOT
from tests.browser.conftest import settled

AXE = ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
RUN = """async () => {
    const result = await axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        resultTypes: ["violations"],
    });
    const where = (n) => `${n.target.join(" ")}: ${(n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 160)}`;
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id} (${v.impact}, ${v.nodes.length}): ` + v.nodes.slice(0, 3).map(where).join(" | "));
}"""


def violations(page) -> list[str]:
    """The page's serious and critical WCAG 2.1 A/AA violations, as axe-core reports them once the page has
    settled: a run that finds some is repeated once the page has stopped changing for a second, and only what both
    runs find counts (while Streamlit redraws a page, its style elements are replaced like any other element)."""
    assert AXE.exists(), "axe-core is missing: scripts/install.sh --dev installs it"
    # while a rerun runs, Streamlit fades the page's elements: check the page it settles on
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=30_000)
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN)
    if found:
        settled(page, quiet=1000)  # the redraw it may have caught has ended
        again = page.evaluate(RUN)
        found = [v for v in found if v.split(" (")[0] in {w.split(" (")[0] for w in again}]
    return found
