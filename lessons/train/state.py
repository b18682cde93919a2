"""The `train` lesson's state: its link parameters, session keys, share presets and questions.
Import-safe (it runs no page), so that tests and scripts can read it."""

from bn_core import data as digit_data
from bn_core import train as tr
from ui import player
from ui.quiz import Question
from ui.share import Preset
from ui.state import Param

PRESET_CHOICES = (*tr.PRESETS, "custom")  # the experiment picker: a trained preset or your own
MAX_GROUPS = 3  # finished pairs kept for comparison
LR_OPTIONS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0)
BATCH_OPTIONS = (1, 2, 4, 8, 16, 32, 60, 64, 128, 256, 512)
HIDDEN_OPTIONS = (*range(16, 97, 16), 100, *range(112, 513, 16))
PACE = Param("speed", "train.speed", "100", kind="choice", choices=player.SPEED_NAMES)
DEFAULT = tr.TrainConfig()
PARAMS = (
    Param("preset", "train.preset", "figure1", kind="choice", choices=PRESET_CHOICES),
    PACE,
    Param("data", "train.dataset", DEFAULT.dataset, kind="choice", choices=digit_data.DATASETS),
    Param("norm", "train.norm", DEFAULT.norm, kind="choice", choices=tr.NORMS),
    Param("place", "train.placement", DEFAULT.placement, kind="choice", choices=tr.PLACEMENTS),
    Param("act", "train.activation", DEFAULT.activation, kind="choice", choices=tr.ACTIVATIONS),
    Param("depth", "train.depth", DEFAULT.depth, kind="int", lo=1, hi=3),
    Param("hidden", "train.hidden", DEFAULT.hidden, kind="int", lo=16, hi=512, options=HIDDEN_OPTIONS),
    Param("hidden2", "train.hidden2", DEFAULT.hidden2, kind="int", lo=0, hi=512, options=(0, *HIDDEN_OPTIONS)),
    Param("dropout", "train.dropout", DEFAULT.dropout, lo=0.0, hi=tr.DROPOUT_MAX),
    Param("opt", "train.optimizer", DEFAULT.optimizer, kind="choice", choices=tr.OPTIMIZERS),
    Param("lr", "train.lr", DEFAULT.lr, lo=LR_OPTIONS[0], hi=LR_OPTIONS[-1], options=LR_OPTIONS),
    Param("bs", "train.batch_size", DEFAULT.batch_size, kind="int", lo=1, hi=512, options=BATCH_OPTIONS),
    Param("epochs", "train.epochs", DEFAULT.epochs, kind="int", lo=1, hi=tr.EPOCH_RANGE[1]),
    Param("seed", "train.seed", DEFAULT.seed, kind="int", lo=0, hi=2**31 - 1),
)
ACTIVE = "train.active"  # the record keys this page waits for while they are computed: a pair, or one run
AUTOPLAY = "train.autoplay"  # the player key of the pair pressed last (it plays from step 0 once)
RESTART = "train.restart"  # presses of Play so far (a new number restarts the player)
WHOLE_PAGE = "train.whole_page"  # a button in the polled fragment asked for a run of the whole page
GROUPS = "train.groups"  # this session's finished groups, oldest first: {"name": str, "runs": [RunView]}
COUNTER = "train.counter"  # groups started in this session (their numbers)
NOTICE = "train.notice"  # a ui.notice: download result, start refused, run lost
CHOSEN = "train.chosen"  # the finished group shown
DOWNLOAD_SEEN = "train.download_seen"  # the MNIST download attempt this session saw running
DOWNLOAD_POLL = 1.0  # seconds between looks at a running MNIST download
KEPT_FOR = "train.kept_for"  # the tab id this session's groups are kept under (Record)
KEPT_AS = "train.kept_as"  # what was last kept for it (to write only what changed)
PRESETS = (  # the share bar's named links (ui.share)
    Preset("bn_vs_none", "preset=figure1"),
    Preset("high_lr", "preset=high_lr"),
    Preset("small_gain", "preset=classic"),
)
QUESTIONS = (  # check yourself (ui.quiz): the right option and the link that shows it
    Question("high_lr_survives", "b", "train?preset=high_lr"),
    Question("figure1_percentiles", "a", "train?preset=figure1"),
    Question("train_batch_of_one", "a", "train?preset=custom&bs=1"),
)
