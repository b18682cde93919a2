"""Every visible string, per language, from locales/<lang>.toml.

Keys are dotted (``neuron.title``); values are ``str.format`` templates. A test
checks that every language has every key with the same placeholders.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import streamlit as st

LANGUAGES: dict[str, str] = {"en": "English", "ru": "Русский", "zh": "中文"}
DEFAULT_LANG = "en"
LANG_KEY = "lang"  # session-state key (and URL parameter) of the language
LANG_WIDGET = "lang_select"  # the sidebar selector; widget state is dropped on pages that skip it
LOCALES = Path(__file__).resolve().parent.parent / "locales"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@functools.cache
def catalog(lang: str) -> Mapping[str, str]:
    """The read-only catalog of one language (loaded once per process)."""
    with open(LOCALES / f"{lang}.toml", "rb") as f:
        return MappingProxyType(_flatten(tomllib.load(f)))


def current_lang() -> str:
    lang = st.session_state.get(LANG_KEY, DEFAULT_LANG)
    return lang if lang in LANGUAGES else DEFAULT_LANG


def t(key: str, **values: object) -> str:
    """The current language's text for ``key``, with ``values`` filled in."""
    text = catalog(current_lang()).get(key)
    if text is None:  # a missing key is a bug the catalog test catches; never crash a page on it
        text = catalog(DEFAULT_LANG).get(key, key)
    return text.format(**values) if values else text


def lang_from_url(raw: str | None) -> str:
    return raw if raw in LANGUAGES else DEFAULT_LANG


# Number formats per language: Russian writes a decimal comma and groups thousands with a
# narrow no-break space (0,3; 10 000); English and Chinese write 0.3 and 10,000.
_DECIMAL = {"ru": ","}
_GROUP = {"ru": "\u202f"}


def num(value: float, spec: str = ".3f", lang: str | None = None) -> str:
    """``value`` formatted with a ``format`` spec (``",.0f"``, ``".1%"``, ``".3g"``) in the
    current language's notation. Non-finite values stay "nan", "inf", "-inf"."""
    lang = lang or current_lang()
    text = format(value, spec)
    digits = [c for c in text.split("e")[0] if c.isdigit()]
    if text.startswith("-") and digits and set(digits) == {"0"}:
        text = text[1:]  # -0.0004 rounds to "-0.000": no sign on a zero
    if lang not in _DECIMAL:
        return text
    # swap through a placeholder so that "," (grouping) and "." (decimal) do not collide
    return text.replace(",", "\0").replace(".", _DECIMAL[lang]).replace("\0", _GROUP[lang])


def separators(lang: str | None = None) -> str:
    """Plotly's ``separators``: the decimal mark, then the thousands separator ("," and a thin space in ru)."""
    lang = lang or current_lang()
    return _DECIMAL.get(lang, ".") + _GROUP.get(lang, ",")


def nums(values, spec: str = "g", lang: str | None = None) -> str:
    """A list of numbers: "0.01, 0.03, 0.1"; in Russian, whose decimal mark is the comma,
    "0,01; 0,03; 0,1" (a comma between decimals would read as one more decimal)."""
    lang = lang or current_lang()
    return ("; " if lang in _DECIMAL else ", ").join(num(v, spec, lang) for v in values)


def pct(value: float, digits: int = 1, lang: str | None = None) -> str:
    """A share as a percentage: 0.123 -> "12.3%" (ru "12,3 %": Russian typography puts a space before the sign)."""
    lang = lang or current_lang()
    percent = value * 100
    # would print as 0.0 %: one significant digit instead (down to 1e-9, below which a share is rounding)
    small = 1e-7 <= abs(percent) < 0.5 * 10**-digits
    text = num(percent, ".1g" if small else f".{digits}f", lang)
    return f"{text}\u00a0%" if lang == "ru" else f"{text}%"


def seconds(value: float, lang: str | None = None) -> str:
    """A duration in seconds, with the language's unit: 0.3 s, 0,3 с, 0.3 秒."""
    lang = lang or current_lang()
    spec = ".1f" if value < 10 else ",.0f"
    return catalog(lang)["common.seconds"].format(s=num(value, spec, lang))


def labels(prefix: str, options: Iterable[str]) -> dict[str, str]:
    """Each option's text in the page's language, looked up now: a widget's ``format_func``
    is also called outside the page run (by AppTest), where the language is unknown."""
    return {v: t(f"{prefix}{v}") for v in options}
