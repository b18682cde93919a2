"""The `bn-lab` lesson's state: every setting with its link name, widget key, default and bounds; its share
presets and its questions.
Import-safe (it runs no page), so that tests and scripts can read it."""

from bn_core import CONVENTIONS
from bn_core.batches import BATCH_SIZES, SOURCES
from lessons.bn_lab.controls import EPS_OPTIONS, ONE_SIZES, PUZZLE_MOMENTA, PUZZLE_X
from ui.quiz import Question
from ui.share import Preset
from ui.state import Param

SECTIONS = ("stats", "running", "one", "puzzle", "eps")
PARAMS = (
    Param("section", "bnlab.section", "stats", kind="choice", choices=SECTIONS),
    Param("layout", "bnlab.layout", "nc", kind="choice", choices=("nc", "nchw")),
    Param("n", "bnlab.n", 32, kind="int", lo=1, hi=1024, options=BATCH_SIZES),
    Param("c", "bnlab.c", 3, kind="int", lo=1, hi=8),
    Param("hw", "bnlab.hw", 4, kind="int", lo=1, hi=16),
    Param("dist", "bnlab.dist", "normal", kind="choice", choices=SOURCES),
    Param("mu", "bnlab.mu", 2.0, lo=-5.0, hi=5.0),
    Param("sd", "bnlab.sd", 1.5, lo=0.0, hi=5.0),
    Param("seed", "bnlab.seed", 0, kind="int", lo=0, hi=2**31 - 1),
    Param("bn", "bnlab.bn", True, kind="bool"),
    Param("mode", "bnlab.mode", "train", kind="choice", choices=("train", "eval")),
    Param("conv", "bnlab.conv", "pytorch", kind="choice", choices=tuple(CONVENTIONS)),
    Param("momentum", "bnlab.momentum", 0.1, lo=0.0, hi=1.0),
    Param("cma", "bnlab.cma", False, kind="bool"),
    Param("eps", "bnlab.eps", 1e-5, lo=0.0, hi=1.0, options=EPS_OPTIONS),
    Param("gamma", "bnlab.gamma", 1.0, lo=-3.0, hi=3.0),
    Param("beta", "bnlab.beta", 0.0, lo=-3.0, hi=3.0),
    Param("k", "bnlab.k", 50, kind="int", lo=0, hi=500),
    Param("ch", "bnlab.ch", 0, kind="int", lo=0, hi=7),
    Param("n1", "bnlab.n1", 1, kind="int", lo=1, hi=64, options=ONE_SIZES),  # "Batch size 1" opens at N = 1
    Param("px", "bnlab.px", float(PUZZLE_X), lo=-1000.0, hi=1000.0),  # the Keras puzzle's x, training, momentum
    Param("ptrain", "bnlab.ptrain", False, kind="bool"),
    Param("pm", "bnlab.pm", 0.99, lo=0.0, hi=1.0, options=PUZZLE_MOMENTA),
    Param("pk", "bnlab.pk", 0, kind="int", lo=0, hi=10),
)
PRESETS = (  # the share bar's named links (ui.share)
    Preset("batch_of_one", "section=one"),
    Preset("keras_puzzle", "section=puzzle"),
    Preset("eps_zero_constant", "section=eps&conv=keras&dist=constant&eps=0"),
)
QUESTIONS = (  # check yourself (ui.quiz): the right option and the link that shows it
    Question("keras_momentum", "c", "bn-lab?section=running&conv=keras&momentum=0.9"),
    Question("batch_of_one", "a", "bn-lab?section=one"),
    Question("eps_role", "a", "bn-lab?section=eps"),
)
