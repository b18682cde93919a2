"""The `experiments` lesson's state: its sections (each a module of this folder with its own ``PARAMS`` and
``show()``), every link parameter and its questions. Import-safe (it runs no page)."""

from lessons.experiments import lr, renorm, smoothness, sweep
from ui.quiz import Question
from ui.state import Param

SECTIONS = {"sweep": sweep, "renorm": renorm, "lr": lr, "smoothness": smoothness}
PARAMS = (
    Param("section", "exp.section", "sweep", kind="choice", choices=tuple(SECTIONS), label="experiments.section"),
    *(p for section in SECTIONS.values() for p in section.PARAMS),
)
QUESTIONS = (  # check yourself (ui.quiz): the right option and the link that shows it
    Question("exp_small_batch", "b", "experiments?section=sweep"),
    Question("exp_gn_paper", "b", "experiments?section=sweep"),
    Question("exp_largest_lr", "a", "experiments?section=lr"),
)
