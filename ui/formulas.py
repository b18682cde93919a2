"""The formulas the pages render: one place for each."""

# Ioffe and Szegedy (2015), Algorithm 1, over a mini-batch B = {x_1, ..., x_m}.
BN_ALGORITHM = (
    r"\mu_B = \frac{1}{m}\sum_{i=1}^{m} x_i",
    r"\sigma_B^2 = \frac{1}{m}\sum_{i=1}^{m} (x_i - \mu_B)^2",
    r"\hat{x}_i = \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}}",
    r"y_i = \gamma\,\hat{x}_i + \beta",
)

NEURON = r"y = f(w_1 x_1 + w_2 x_2 + w_0), \qquad x_1, x_2 \sim \mathcal{N}(\mu, \sigma^2)"
