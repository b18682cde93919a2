"""One-time messages (ui/notice.py) last until the student's next action: a run stopped by another
rerun before it ended, or the rerun the tab's id causes, does not lose them."""

from streamlit.testing.v1 import AppTest


def page() -> None:
    """A page as app.py runs it: a button whose callback posts a message, a checkbox that stands for
    any other action, and a switch that stops the run before its end (as another rerun would)."""
    import streamlit as st

    from ui import notice

    def refused() -> None:
        notice.post("demo", "warning", "refused")

    notice.run_starting()
    st.button("start", on_click=refused, key="start")
    st.checkbox("other", key="other")
    st.checkbox("report", key="report", on_change=notice.hold)
    if not st.session_state.get("hide"):  # (a page whose part that draws it did not run)
        notice.draw("demo")
    if st.session_state.get("interrupt"):
        st.session_state["interrupt"] = False
        st.stop()  # as a rerun asked for meanwhile stops the run: app.py's last line is not reached
    notice.run_ended()


def shown(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def test_a_message_lasts_one_ended_run_and_goes_with_the_next_action():
    at = AppTest.from_function(page, default_timeout=30).run()
    assert shown(at) == []
    at.button(key="start").click().run()
    assert shown(at) == ["refused"]
    at.checkbox(key="other").check().run()
    assert shown(at) == []
    at.button(key="start").click().run()  # posted again: shown again
    assert shown(at) == ["refused"]


def test_a_run_stopped_before_its_end_does_not_lose_the_message():
    at = AppTest.from_function(page, default_timeout=30).run()
    at.session_state["interrupt"] = True
    at.button(key="start").click().run()  # drawn, but the run never ended
    at.checkbox(key="other").check().run()  # the run that stopped it
    assert shown(at) == ["refused"]
    at.checkbox(key="other").uncheck().run()
    assert shown(at) == []


def test_the_run_the_page_asks_for_keeps_the_message():
    at = AppTest.from_function(page, default_timeout=30).run()
    at.button(key="start").click().run()
    at.checkbox(key="report").check().run()  # the tab's id arriving (ui/session.py holds)
    assert shown(at) == ["refused"]
    at.checkbox(key="other").check().run()
    assert shown(at) == []


def test_a_message_no_run_has_drawn_yet_waits_for_one():
    at = AppTest.from_function(page, default_timeout=30).run()
    at.session_state["hide"] = True
    at.button(key="start").click().run()
    assert shown(at) == []
    at.session_state["hide"] = False
    at.checkbox(key="other").check().run()
    assert shown(at) == ["refused"]
    at.checkbox(key="other").uncheck().run()
    assert shown(at) == []
