"""A finished run, looked at: its summary, its results (curves, confusion matrix, the model to download) and
its predictions for the test images."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st
import torch

from bn_core import data as digit_data
from bn_core import train as tr
from lessons.train.settings import norm_name
from serve.records import RunView
from ui import charts
from ui.i18n import num, pct, seconds, t


def run_summary(view: RunView) -> None:
    h = view.history
    last = h.epochs[-1] if h.epochs else None
    st.markdown(f"**{norm_name(h.config.norm)}**")
    cols = st.columns(3)
    cols[0].metric(t("train.test_accuracy"), "—" if h.test_accuracy is None else pct(h.test_accuracy))
    reached = tr.steps_to(h, 0.9)
    cols[1].metric(
        t("train.steps_to_90"), "—" if reached is None else num(reached, ",d"), help=t("train.steps_to_90_help")
    )
    cols[2].metric(t("train.seconds"), seconds(h.seconds))
    if h.stopped == "diverged":
        st.error(
            t("train.diverged", epoch=h.diverged_at, loss=num(h.diverged_loss, ".3g")), icon=":material/trending_up:"
        )
    elif h.stopped == "cap":  # a server's limit on a run's steps or seconds
        st.warning(t("train.capped", step=num(h.measures[-1].step, ",d")), icon=":material/timer:")
    elif last is not None and last.val_accuracy < 0.2:
        st.warning(t("train.not_learning"), icon=":material/warning:")


def results(view: RunView, dataset: digit_data.Dataset | None) -> None:
    h = view.history
    if h.test_predictions is None or dataset is None:
        st.info(t("train.no_results"), icon=":material/info:")
        return
    left, right = st.columns([1, 1.2], gap="large")
    counts = tr.confusion_matrix(dataset.y_test, h.test_predictions)
    left.plotly_chart(
        charts.heatmap_figure(
            counts, title=t("train.confusion"), x_title=t("train.predicted"), y_title=t("train.true")
        ),
        key="train.confusion",
    )
    wrong = np.flatnonzero(h.test_predictions != dataset.y_test)
    with right:
        st.markdown(f"**{t('train.misclassified', n=len(wrong), total=len(dataset.y_test))}**")
        shown = wrong[:30]
        if len(shown):
            st.image(
                [pixels(dataset.x_test[i], dataset.image_shape) for i in shown],
                caption=[t("train.caption", true=dataset.y_test[i], pred=h.test_predictions[i]) for i in shown],
                width=72,
            )
    st.download_button(
        t("train.download_csv"),
        tr.history_csv(h),
        file_name="bn_lab_history.csv",
        mime="text/csv",
        icon=":material/table:",
        key="train.csv",
    )
    st.download_button(
        t("train.download_weights"),
        state_dict_bytes(h.model),
        file_name="bn_lab_digitnn.pt",
        mime="application/octet-stream",
        icon=":material/download:",
        key="train.weights",
        help=t("train.weights_help"),
    )


def pixels(flat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A flat image, enlarged with sharp pixels (8x8 digits would be blurred by the browser)."""
    image = (np.clip(digit_data.unit(flat).reshape(shape), 0.0, 1.0) * 255).astype(np.uint8)
    scale = max(1, 64 // shape[0])
    return np.kron(image, np.ones((scale, scale), np.uint8))


def state_dict_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def predict(view: RunView, dataset: digit_data.Dataset | None) -> None:
    if dataset is None or view.history.model is None:
        st.info(t("train.no_results"), icon=":material/info:")
        return
    n = len(dataset.y_test)
    index = st.number_input(t("train.pick"), 0, n - 1, value=0, step=1, key="train.pick")
    probs = tr.probabilities(view.history.model, dataset.x_test[index : index + 1])[0]
    left, right = st.columns([1, 3])
    left.image(pixels(dataset.x_test[index], dataset.image_shape), width=160)
    left.markdown(t("train.pick_truth", true=dataset.y_test[index], pred=int(np.argmax(probs))))
    right.plotly_chart(
        charts.bars_figure([str(i) for i in range(10)], probs, title=t("train.probs"), highlight=int(np.argmax(probs))),
        key="train.probs",
    )
    st.caption(t("train.pick_note"))
