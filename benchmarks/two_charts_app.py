"""The floor for `neuron_latency.py`: three sliders and two Plotly histograms of
100 000 samples, nothing else. What Streamlit and Chromium cost on this machine."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

for name in ("a", "b", "shift"):
    st.slider(name, -3.0, 3.0, 0.0, 0.01, key=name)
x = np.random.default_rng(0).normal(size=100_000) + st.session_state["shift"]
counts, edges = np.histogram(x, 80, range=(-5, 5))
for key in ("first", "second"):
    st.plotly_chart(go.Figure([dict(type="bar", x=edges[:-1], y=counts)]), key=key)
