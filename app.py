"""BN Lab: the frame around every lesson (page config, language, navigation)."""

import streamlit as st

from ui import notice, present
from ui.frame import FRAME_CSS, freeze_imports, missing_page
from ui.i18n import LANG_KEY, LANG_WIDGET, LANGUAGES, lang_from_url, t
from ui.lessons import HOME, LESSONS
from ui.server import few_malloc_heaps, one_torch_thread, tcp_no_delay
from ui.state import forget_notice

few_malloc_heaps()
one_torch_thread()
tcp_no_delay()
freeze_imports("streamlit")

present.restore_from_link()
st.set_page_config(
    page_title="BN Lab",
    page_icon=":material/tune:",
    layout="wide",
    initial_sidebar_state="collapsed" if st.session_state[present.PRESENT] else "auto",
)

if LANG_KEY not in st.session_state:  # a plain key, so it survives every page change
    st.session_state[LANG_KEY] = lang_from_url(st.query_params.get("lang"))
st.session_state[LANG_WIDGET] = st.session_state[LANG_KEY]
forget_notice()  # a link notice lasts one run (fragment reruns do not run this file)
notice.run_starting()


def _language_changed() -> None:
    st.session_state[LANG_KEY] = st.session_state[LANG_WIDGET]


def _present_changed() -> None:
    st.session_state[present.PRESENT] = st.session_state["present_toggle"]


with st.sidebar:
    st.html(FRAME_CSS)  # first: the page's text colours are right from its first paint
    st.selectbox(
        ":material/translate: Language · Язык · 语言",
        options=list(LANGUAGES),
        format_func=LANGUAGES.get,
        key=LANG_WIDGET,
        on_change=_language_changed,
    )

home = st.Page(HOME.path, title=t("nav.home"), icon=HOME.icon, default=True)
lessons = [st.Page(x.path, title=t(f"nav.{x.name}"), icon=x.icon, url_path=x.url_path) for x in LESSONS]
start = [home, lost] if (lost := missing_page()) else [home]
# One flat list: with sections ("Start", "Lessons") Streamlit 1.67 puts each section's <li> in a <div> outside
# the <ul>, which a screen reader does not announce as a list (axe-core: "list", "listitem").
page = st.navigation([*start, *lessons])

with st.sidebar:
    st.session_state["present_toggle"] = st.session_state[present.PRESENT]
    st.toggle(t("app.present"), key="present_toggle", on_change=_present_changed, help=t("app.present_help"))
    st.caption(t("app.sidebar_note"))

st.query_params[LANG_KEY] = st.session_state[LANG_KEY]
page.run()
notice.run_ended()  # not reached when another rerun stopped this one
