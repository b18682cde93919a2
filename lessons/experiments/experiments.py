"""Lesson `experiments`: BatchNorm at small batch sizes against its alternatives, Batch Renorm's
correction, learning-rate robustness, and why BN helps optimization (Santurkar et al., 2018).

Each section shows its experiment's precomputed result at once (lessons/experiments/results,
written by scripts/precompute_experiments.py) and recomputes it in a worker process for other
settings ("run it yourself"). The chosen section is in the link (``?section=``).
"""

import streamlit as st

from lessons.experiments.state import PARAMS, QUESTIONS, SECTIONS
from ui.frame import freeze_imports, guarded, header, lead
from ui.i18n import labels, t
from ui.quiz import check_yourself
from ui.state import mirror, restore, show_notices

freeze_imports("torch")


def body() -> None:
    header("experiments")
    show_notices(restore(PARAMS))
    chosen = st.segmented_control(
        t("experiments.section"),
        tuple(SECTIONS),
        format_func=labels("experiments.sec_", SECTIONS).get,
        required=True,
        key="exp.section",
    )
    lead(f"exp_{chosen}")
    st.markdown(t(f"experiments.intro_{chosen}"))
    SECTIONS[chosen].show()
    check_yourself("experiments", QUESTIONS)
    mirror(PARAMS)


guarded(body, "experiments")
