"""The `step` section's formulas with this batch's numbers plugged in, and its table of
the cells each step reads and writes. Numbers come from bn_core.steps; this is layout only."""

from __future__ import annotations

import pandas as pd

from bn_core import steps
from ui.i18n import num

STEPS = ("mean", "var", "x_hat", "y", "dparams", "dx")
USED, RESULT, FOCUS = "background-color: #fef3c7", "background-color: #dcfce7", "background-color: #fde68a"


def tex(value: float) -> str:
    """A number for LaTeX in the page's notation (a Russian decimal comma is {,} in TeX)."""
    text = num(value, ".4g").replace(",", "{,}")
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = rf"{mantissa}\cdot 10^{{{int(exponent)}}}"
    return text


def term(value: float) -> str:
    return f"({tex(value)})" if value < 0 else tex(value)


def sum_of(terms: list[str]) -> str:
    """``a + b + ... + z``, cut in the middle beyond five terms."""
    shown = terms if len(terms) <= 5 else [*terms[:3], r"\cdots", terms[-1]]
    return " + ".join(shown)


def formula_lines(name: str, fwd: steps.Forward, back: steps.Backward, ch: int, row: int) -> list[str]:
    x, m, v, e = fwd.x[:, ch], fwd.mean[ch], fwd.var[ch], fwd.eps
    g, b, n = fwd.gamma[ch], fwd.beta[ch], x.size
    xh, dy = fwd.x_hat[:, ch], back.dy[:, ch]
    root = rf"\sqrt{{{tex(v)} + {tex(e)}}}"
    if name == "mean":
        return [rf"\mu_B = \frac{{1}}{{N}}\sum_{{i}} x_i = \frac{{{sum_of([term(a) for a in x])}}}{{{n}}} = {tex(m)}"]
    if name == "var":
        squares = [rf"({tex(a)} - {term(m)})^2" for a in x]
        return [
            rf"\sigma_B^2 = \frac{{1}}{{N}}\sum_{{i}} (x_i - \mu_B)^2 = \frac{{{sum_of(squares)}}}{{{n}}} = {tex(v)}"
        ]
    if name == "x_hat":
        return [
            rf"\hat{{x}}_{{{row}}} = \frac{{x_{{{row}}} - \mu_B}}{{\sqrt{{\sigma_B^2 + \varepsilon}}}}"
            rf" = \frac{{{tex(x[row])} - {term(m)}}}{{{root}}} = {tex(xh[row])}"
        ]
    if name == "y":
        return [
            rf"y_{{{row}}} = \gamma\,\hat{{x}}_{{{row}}} + \beta = {tex(g)}\cdot{term(xh[row])} + {term(b)}"
            rf" = {tex(fwd.y[row, ch])}"
        ]
    if name == "dparams":
        products = [rf"{term(a)}\cdot{term(h)}" for a, h in zip(dy, xh, strict=True)]
        return [
            rf"\frac{{\partial L}}{{\partial \beta}} = \sum_i dy_i = {sum_of([term(a) for a in dy])}"
            rf" = {tex(back.dbeta[ch])}",
            rf"\frac{{\partial L}}{{\partial \gamma}} = \sum_i dy_i\,\hat{{x}}_i = {sum_of(products)}"
            rf" = {tex(back.dgamma[ch])}",
        ]
    return [
        r"dx_i = \frac{\gamma}{N\sqrt{\sigma_B^2+\varepsilon}}"
        r"\Big(N\,dy_i - \frac{\partial L}{\partial \beta} - \hat{x}_i\,\frac{\partial L}{\partial \gamma}\Big)",
        rf"\begin{{aligned}} dx_{{{row}}} &= \frac{{{tex(g)}}}{{{n}\cdot{root}}}\Big({n}\cdot{term(dy[row])}"
        rf" - \underbrace{{{term(back.dbeta[ch])}}}_{{\partial L/\partial \beta}}"  # named: they come from step 5
        rf" - {term(xh[row])}\cdot\underbrace{{{term(back.dgamma[ch])}}}_{{\partial L/\partial \gamma}}\Big)"
        rf" \\ &= {tex(back.dx[row, ch])}"
        r"\end{aligned}",
    ]


# Per step: the columns it reads and the column it writes (None: its result is one number per channel).
READS = {
    "mean": (("x",), None),
    "var": (("x - μ",), None),
    "x_hat": (("x - μ",), "x̂"),
    "y": (("x̂",), "y"),
    "dparams": (("dy", "x̂"), None),
    "dx": (("dy", "x̂"), "dx"),
}


def step_table(name: str, fwd: steps.Forward, back: steps.Backward, ch: int, row: int):
    """Channel ch's column of every quantity up to this step; the cells the step reads in
    yellow (darker: the row it works on), the value it computes in green."""
    columns = {
        "x": fwd.x[:, ch],
        "x - μ": fwd.x[:, ch] - fwd.mean[ch],
        "x̂": fwd.x_hat[:, ch],
        "y": fwd.y[:, ch],
        "dy": back.dy[:, ch],
        "dx": back.dx[:, ch],
    }
    shown = list(columns)[: STEPS.index(name) + 1]
    table = pd.DataFrame({col: columns[col] for col in shown})
    reads, writes = READS[name]

    def colour(frame: pd.DataFrame) -> pd.DataFrame:
        css = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for col in reads:
            css[col] = USED
            if writes:
                css.loc[row, col] = FOCUS
        if writes:
            css.loc[row, writes] = RESULT
        return css

    return table.style.apply(colour, axis=None).format(lambda v: num(v, ".4g"))
