"""The guard around every page body: an unexpected error becomes a message in
the user's language, never a traceback; each run's duration is logged."""

import logging

import pytest
from streamlit.testing.v1 import AppTest

from ui.i18n import LANGUAGES, catalog


def failing_page(lang: str) -> None:
    import streamlit as st

    from ui.frame import guarded

    st.session_state["lang"] = lang

    def body():
        st.write("before the failure")
        raise RuntimeError("a bug")

    guarded(body, "broken")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_error_becomes_a_translated_message(lang):
    at = AppTest.from_function(failing_page, args=(lang,), default_timeout=30).run()
    assert not at.exception
    assert [e.value for e in at.error] == [catalog(lang)["error.unexpected"]]
    assert "a bug" not in " ".join(m.value for m in at.markdown)
    assert any("before the failure" in m.value for m in at.markdown)  # what was drawn stays


def test_each_run_logs_its_duration(caplog):
    from ui.frame import guarded

    with caplog.at_level(logging.DEBUG, logger="bn_lab.timing"):
        guarded(lambda: None, "quiet")
    [record] = [r for r in caplog.records if r.name == "bn_lab.timing"]
    assert record.getMessage().startswith("quiet ran in ")
