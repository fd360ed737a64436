"""Probability distributions whose log-densities, moments and entropies are
differentiable in their parameters (`tg.distributions.Normal(loc, scale)`, ...).

Where to start reading: `distribution.py` (what every distribution provides),
`continuous.py` (Normal, Uniform, Gamma), `discrete.py` (Bernoulli, Categorical,
Poisson), `special.py` (lgamma and its derivatives).
"""

from .continuous import Gamma, Normal, Uniform
from .discrete import Bernoulli, Categorical, Poisson
from .distribution import Distribution
from .special import digamma, lgamma, trigamma

__all__ = ["Bernoulli", "Categorical", "Distribution", "Gamma", "Normal", "Poisson",
           "Uniform", "digamma", "lgamma", "trigamma"]
