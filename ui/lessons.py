"""The lesson map: one place for each page's name, file, URL path, icon and readiness."""

from typing import NamedTuple


class Lesson(NamedTuple):
    name: str  # catalog prefix: nav.<name>, <name>.title, <name>.lead
    path: str  # relative to app.py. The folder is not called pages/: Streamlit would treat that as a legacy
    # multipage folder, and a direct link as the first request after a start would skip app.py.
    url_path: str
    icon: str  # a Material icon: bundled with Streamlit, so it renders without emoji fonts
    ready: bool = True  # False: a placeholder; the home page lists it as planned, not as a lesson card


HOME = Lesson("home", "lessons/home.py", "", ":material/home:")
LESSONS = (
    Lesson("neuron", "lessons/neuron/neuron.py", "neuron", ":material/psychology:"),
    Lesson("bn_lab", "lessons/bn_lab/bn-lab.py", "bn-lab", ":material/tune:"),
    Lesson("train", "lessons/train/train.py", "train", ":material/monitoring:"),
    Lesson("inside", "lessons/inside/inside.py", "inside", ":material/biotech:"),
    Lesson("experiments", "lessons/experiments/experiments.py", "experiments", ":material/science:"),
)
