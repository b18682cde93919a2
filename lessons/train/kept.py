"""What a browser tab keeps of the `train` lesson across reloads, on the server, under the tab's id
(ui.session.tab_id): the keys of its finished runs' records and the settings of the computation it
was waiting for. It holds no run itself: records are shared by everyone who asks for the same
settings (serve.runner), and a tab's entry is a few hundred bytes, written only when it has something.
The store is one per server (``kept``); ``restore_kept`` and ``save_kept`` read and write a session's entry.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import streamlit as st

from bn_core import data as digit_data
from lessons.train.state import ACTIVE, COUNTER, GROUPS, KEPT_AS, KEPT_FOR, NOTICE
from serve.limits import LimitReached
from serve.store import BoundedStore
from ui import notice, runs
from ui.i18n import t

MAX_TABS = 2_000  # entries of a few hundred bytes: a flood of new tab ids cannot push a class's out quickly
MAX_AGE = 3600.0  # seconds: a lesson's length


@dataclass(frozen=True)
class Record:
    counter: int  # groups started (their numbers go on)
    groups: tuple  # finished groups, oldest first: (name, (record key, ...))
    configs: tuple = ()  # the computation the tab waited for: its configurations (asked for again)
    directory: str | None = None  # their MNIST folder
    group_name: str = ""  # that group's name


@st.cache_resource
def kept() -> BoundedStore:
    """One store for the server: each browser tab's runs (their record keys), across reloads."""
    return BoundedStore(
        lambda record: len(pickle.dumps(record)), max_items=MAX_TABS, max_bytes=4 * 2**20, max_age=MAX_AGE
    )


def restore_kept(tab: str | None) -> None:
    """Once per session, when the tab's id is known: take back what the tab kept before a reload (the
    records of its groups, and the computation it waited for). A record the server no longer has is
    named in a notice."""
    s = st.session_state
    if tab is None or s.get(KEPT_FOR) == tab:
        return
    s[KEPT_FOR] = tab
    record = kept().get(tab)
    if record is None or s.get(GROUPS) or s.get(ACTIVE):  # this session's own are newer
        return
    groups, lost = [], 0
    for name, keys in record.groups:
        found = [v for v in runs.views(list(keys)) if v is not None and v.state == "finished"]
        if len(found) == len(keys):
            groups.append({"name": name, "runs": found})
        else:
            lost += 1
    s[GROUPS] = groups
    s[COUNTER] = max(s.get(COUNTER, 0), record.counter)
    if record.configs:
        try:  # asking again joins the computation, or finds its record
            s[ACTIVE] = runs.request(list(record.configs), record.directory)
            s["train.group_name"] = record.group_name
        except (LimitReached, ValueError):
            lost += 1
    if lost:
        notice.post(NOTICE, "warning", t("train.records_gone", n=lost))


def save_kept() -> None:
    """Keep this session's record keys under its tab's id (when they changed; nothing for an empty page)."""
    s = st.session_state
    tab = s.get(KEPT_FOR)
    groups, active = s.get(GROUPS, []), s.get(ACTIVE, [])
    if tab is None or not (groups or active or s.get(KEPT_AS)):
        return
    views = [v for v in runs.views(active) if v is not None] if active else []
    configs = tuple(v.config for v in views) if len(views) == len(active) else ()
    directory = str(digit_data.mnist_dir()) if configs and configs[0].dataset == "mnist" else None
    record = Record(
        s.get(COUNTER, 0),
        tuple((g["name"], tuple(v.run_id for v in g["runs"])) for g in groups),
        configs,
        directory,
        s.get("train.group_name", ""),
    )
    if s.get(KEPT_AS) != record:
        kept().put(tab, record)
        s[KEPT_AS] = record
