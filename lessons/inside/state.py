"""The `inside` lesson's state: its sections (each a module of this folder with its own ``PARAMS`` and ``show()``),
every link parameter, its share presets and its questions. Import-safe (it runs no page)."""

from lessons.inside import axes, devices, noise, placement, step, train_eval
from ui.quiz import Question
from ui.share import Preset
from ui.state import Param

SECTIONS = {
    "step": step,
    "axes": axes,
    "stats": train_eval,
    "place": placement,
    "devices": devices,
    "noise": noise,
}
PARAMS = (
    Param("section", "inside.section", "step", kind="choice", choices=tuple(SECTIONS)),
    *(p for section in SECTIONS.values() for p in section.PARAMS),
)
PRESETS = (  # the share bar's named links (ui.share)
    Preset("noisy_batches", "section=noise&nb=2"),
    Preset("devices_disagree", "section=devices&b=2&shift=3"),
)
QUESTIONS = (  # check yourself (ui.quiz): the right option and the link that shows it
    Question("bias_before_bn", "b", "inside?section=place"),
    Question("preact_resnet", "b", "inside?section=place"),
    Question("sync_stats", "a", "inside?section=devices"),
)
