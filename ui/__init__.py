"""Streamlit-side helpers: i18n, URL state, chart builders. No maths here."""
