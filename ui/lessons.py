"""The lesson map: one place for each page's name, file, URL path and icon."""

from typing import NamedTuple


class Lesson(NamedTuple):
    name: str  # catalog prefix: nav.<name>, <name>.title, <name>.lead
    path: str  # relative to app.py; the file name matches url_path (Streamlit looks pages/ up by name first)
    url_path: str
    icon: str  # a Material icon: bundled with Streamlit, so it renders without emoji fonts


HOME = Lesson("home", "pages/home.py", "", ":material/home:")
LESSONS = (
    Lesson("neuron", "pages/neuron.py", "neuron", ":material/psychology:"),
    Lesson("bn_lab", "pages/bn-lab.py", "bn-lab", ":material/tune:"),
    Lesson("train", "pages/train.py", "train", ":material/monitoring:"),
    Lesson("inside", "pages/inside.py", "inside", ":material/biotech:"),
    Lesson("experiments", "pages/experiments.py", "experiments", ":material/science:"),
)
