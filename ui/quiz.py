"""Check yourself: a few questions at the end of a lesson, with feedback that links to the
settings that show the answer. Questions and their texts live in locales (``quiz.<id>.*``);
which option is right, and where the link goes, is declared once, in the lesson's state.py. Every right answer is a
claim, and tests/app/test_quiz.py checks it against the engine or PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from ui.i18n import current_lang, t


@dataclass(frozen=True)
class Question:
    id: str  # catalog prefix quiz.<id>: .q (question), .a/.b/.c (options), .why (the explanation)
    right: str  # "a", "b" or "c"
    link: str  # a page and query that show the answer, e.g. "neuron?bn=1"


OPTIONS = ("a", "b", "c")


def check_yourself(lesson: str, questions: Sequence[Question]) -> None:
    """The lesson's questions (declared in its state.py) in an expander; an answer shows at once whether it is
    right and why."""
    if not questions:
        return
    lang = current_lang()
    with st.expander(t("quiz.title"), icon=":material/quiz:"):
        for i, q in enumerate(questions, start=1):
            choice = st.radio(
                f"**{i}.** {t(f'quiz.{q.id}.q')}",
                OPTIONS,
                format_func=lambda o, q=q: t(f"quiz.{q.id}.{o}"),
                index=None,
                key=f"quiz.{lesson}.{q.id}",
            )
            if choice is None:
                continue
            verdict = t("quiz.right") if choice == q.right else t("quiz.wrong")
            feedback = f"**{verdict}** {t(f'quiz.{q.id}.why')} [{t('quiz.try_it')}](/{q.link}&lang={lang})"
            (st.success if choice == q.right else st.info)(feedback)
