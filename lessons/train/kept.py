"""What a browser tab keeps of the `train` lesson across reloads, on the server, under the tab's id
(ui.session.tab_id): the keys of its finished runs' records and the settings of the computation it
was waiting for. It holds no run itself: records are shared by everyone who asks for the same
settings (serve.runner), and a tab's entry is a few hundred bytes, written only when it has something.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TABS = 2_000  # entries of a few hundred bytes: a flood of new tab ids cannot push a class's out quickly
MAX_AGE = 3600.0  # seconds: a lesson's length


@dataclass(frozen=True)
class Record:
    counter: int  # groups started (their numbers go on)
    groups: tuple  # finished groups, oldest first: (name, (record key, ...))
    configs: tuple = ()  # the computation the tab waited for: its configurations (asked for again)
    directory: str | None = None  # their MNIST folder
    group_name: str = ""  # that group's name
