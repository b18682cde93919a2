"""Check yourself: a few questions at the end of a lesson, with feedback that links to the
settings that show the answer. Questions and their texts live in locales (``quiz.<id>.*``);
which option is right, and where the link goes, is declared here once. Every right answer is a
claim, and tests/app/test_quiz.py checks it against the engine or PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui.i18n import current_lang, t


@dataclass(frozen=True)
class Question:
    id: str  # catalog prefix quiz.<id>: .q (question), .a/.b/.c (options), .why (the explanation)
    right: str  # "a", "b" or "c"
    link: str  # a page and query that show the answer, e.g. "neuron?bn=1"


OPTIONS = ("a", "b", "c")
QUESTIONS: dict[str, tuple[Question, ...]] = {
    "neuron": (
        Question("preset_b_zeros", "a", "neuron?w1=-0.5&w2=0.25&w0=1"),
        Question("bn_before_half", "b", "neuron?bn=1&w1=-0.5&w2=0.25&w0=1"),
        Question("bn_after_zeros", "c", "neuron?bn=1&place=after&w1=-0.5&w2=0.25&w0=1"),
    ),
    "bn_lab": (
        Question("keras_momentum", "c", "bn-lab?section=running&conv=keras&momentum=0.9"),
        Question("batch_of_one", "a", "bn-lab?section=one"),
        Question("eps_role", "a", "bn-lab?section=eps"),
    ),
    "inside": (
        Question("bias_before_bn", "b", "inside?section=place"),
        Question("preact_resnet", "b", "inside?section=place"),
        Question("sync_stats", "a", "inside?section=devices"),
    ),
    "train": (
        Question("high_lr_survives", "b", "train?preset=high_lr"),
        Question("figure1_percentiles", "a", "train?preset=figure1"),
        Question("train_batch_of_one", "a", "train?preset=custom&bs=1"),
    ),
    "experiments": (
        Question("exp_small_batch", "b", "experiments?section=sweep"),
        Question("exp_gn_paper", "b", "experiments?section=sweep"),
        Question("exp_largest_lr", "a", "experiments?section=lr"),
    ),
}


def check_yourself(lesson: str) -> None:
    """The lesson's questions in an expander; an answer shows at once whether it is right and why."""
    questions = QUESTIONS.get(lesson, ())
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
