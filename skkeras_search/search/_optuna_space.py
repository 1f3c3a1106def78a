"""Search spaces as Optuna distributions; a TPE sampler with every option pinned.

Optuna is imported inside the functions, so ``import skkeras_search`` stays
cheap. Lists become categorical distributions over their *indices*, so any
object (tuples, estimators, None) can be a choice; values are encoded for
Optuna and decoded back with :meth:`Dimension.encode` / :meth:`Dimension.decode`.
"""

import contextlib
import math
import warnings
from collections.abc import Mapping
from numbers import Real

import numpy as np

from skkeras_search.space import IntRange, LogUniform

__all__ = ["Dimension", "dimension", "describe", "to_optuna", "n_points", "tpe_sampler",
           "new_study", "quiet_optuna", "gamma_tpe", "gamma_bohb", "uniform_weights",
           "bohb_model"]

_USE_INSTEAD = (
    "Use skkeras_search.space.log_uniform(low, high) or int_range(low, high, step), "
    "scipy.stats.loguniform(a, b), uniform(loc, scale) or randint(low, high), "
    "or a list of choices"
)


class Dimension:
    """One searched parameter: its Optuna distribution and the value mapping.

    ``name`` is the parameter's name in Optuna's trials: the estimator's name,
    or ``name@i`` for branch ``i`` of a conditional space where branches give
    the parameter different distributions; ``text`` describes the
    distribution for messages.
    """

    def __init__(self, name, distribution, kind, choices=None, text=None):
        self.name, self.distribution, self.kind, self.choices = name, distribution, kind, choices
        self.text = text if text is not None else repr(distribution)

    def decode(self, value):
        """Optuna's value -> the value given to the estimator."""
        if self.kind == "categorical":
            return self.choices[int(value)]
        return int(value) if self.kind == "int" else float(value)

    def encode(self, value):
        """The estimator's value -> Optuna's (for results sampled elsewhere)."""
        if self.kind == "categorical":
            for i, choice in enumerate(self.choices):
                if choice is value:
                    return i
            for i, choice in enumerate(self.choices):
                with contextlib.suppress(Exception):
                    if bool(choice == value):
                        return i
            for i, choice in enumerate(self.choices):  # read back from JSON: tuples are lists
                with contextlib.suppress(Exception):
                    if _as_json(choice) == _as_json(value):
                        return i
            raise ValueError(f"{self.name}={value!r} is not one of the choices {self.choices!r}.")
        d = self.distribution
        if self.kind == "int":
            return int(min(max(int(value), d.low), d.high))
        return float(min(max(float(value), d.low), d.high))

    def contains(self, value):
        """Whether ``value`` is a point of this dimension (a choice, or inside the bounds)."""
        if self.kind == "categorical":
            try:
                self.encode(value)
            except ValueError:
                return False
            return True
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.number)):
            return False
        d, v = self.distribution, float(value)
        if not math.isfinite(v) or not d.low <= v <= d.high:
            return False
        return self.kind == "float" or (v.is_integer() and (int(v) - d.low) % (d.step or 1) == 0)


def _as_json(value):
    """``value`` as JSON reads it back: tuples as lists, NumPy scalars as Python ones."""
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def describe(value):
    """Stable text of a distribution or list of choices (``scipy.stats.loguniform(0.001, 1)``)."""
    return _describe(value)


def _describe(value):
    dist = getattr(value, "dist", None)
    if dist is not None and hasattr(dist, "name"):
        args = ", ".join([repr(a) for a in getattr(value, "args", ())]
                         + [f"{k}={v!r}" for k, v in getattr(value, "kwds", {}).items()])
        return f"scipy.stats.{dist.name}({args})"
    return repr(value)


def dimension(name, value, owner, where=None):
    """The :class:`Dimension` of one entry of ``param_distributions``, or a ValueError.

    ``where`` names the entry in messages (default ``param_distributions['name']``;
    ``param_distributions[1]['name']`` for branch 1 of a conditional space).
    """
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    where = where or f"param_distributions[{name!r}]"
    text = _describe(value)
    if isinstance(value, LogUniform):
        return Dimension(name, FloatDistribution(value.low, value.high, log=True), "float",
                         text=text)
    if isinstance(value, IntRange):
        high = value.low + value.step * ((value.high - value.low) // value.step)
        return Dimension(name, IntDistribution(value.low, high, step=value.step), "int",
                         text=text)
    if isinstance(value, (list, tuple, range, np.ndarray)):
        choices = list(value)
        if not choices:
            raise ValueError(f"{where} is an empty list. Give at least one choice.")
        return Dimension(name, CategoricalDistribution(tuple(range(len(choices)))),
                         "categorical", choices, text=text)
    dist = getattr(value, "dist", None)
    kind = getattr(dist, "name", None)
    if kind is not None and hasattr(value, "support") and hasattr(value, "cdf"):
        low, high = (float(v) for v in value.support())
        if kind in ("loguniform", "reciprocal") and low > 0 and math.isclose(
                float(value.cdf(math.sqrt(low * high))), 0.5, abs_tol=1e-9):
            return Dimension(name, FloatDistribution(low, high, log=True), "float", text=text)
        if kind == "uniform" and np.isfinite(high):
            return Dimension(name, FloatDistribution(low, high), "float", text=text)
        if kind == "randint":
            return Dimension(name, IntDistribution(int(low), int(high)), "int", text=text)
    raise ValueError(
        f"{where}={text} is not supported by {owner}, "
        f"which needs distributions Optuna's TPE can model. {_USE_INSTEAD}."
    )


def to_optuna(param_distributions, owner):
    """``{name: Dimension}`` for a dict of distributions; refuse what TPE cannot model.

    Parameters
    ----------
    param_distributions : dict
        Parameter names to distributions or lists (``range`` and tuples
        too); ``{}`` has no dimension (one candidate: the estimator as given).
    owner : str
        Who asks (for the error message), e.g. ``"TPESearchCV"``.

    A list of dicts (a conditional space) is
    :func:`skkeras_search.search._conditional.search_space`'s.
    """
    if not isinstance(param_distributions, Mapping):
        raise ValueError(
            f"param_distributions of type {type(param_distributions).__name__} is not a dict. "
            "Pass a dict here; search_space() reads a list of dicts (a conditional space)."
        )
    return {name: dimension(name, value, owner) for name, value in param_distributions.items()}


def n_points(dims):
    """Number of distinct candidates of a space of :class:`Dimension`, or None if infinite."""
    count = 1
    for d in dims.values():
        if d.kind == "categorical":
            count *= len(d.choices)
        elif d.kind == "int":
            count *= (d.distribution.high - d.distribution.low) // (d.distribution.step or 1) + 1
        else:
            return None
    return count


def gamma_tpe(n):
    """Number of 'good' trials among ``n``: Optuna's default (10%, at most 25), pinned."""
    return min(math.ceil(0.1 * n), 25)


def gamma_bohb(n):
    """Number of 'good' observations among ``n``: BOHB's q = 0.15 (Falkner et al. 2018)."""
    return min(math.ceil(0.15 * n), 25)


def uniform_weights(n):
    """Weights of the observations: Optuna's default (flat, older ones ramped after 25)."""
    if n == 0:
        return np.asarray([])
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)])


def tpe_sampler(seed, *, n_startup_trials, gamma, group=False):
    """Optuna's ``TPESampler`` with every option written out.

    Optuna 5 deprecates passing several of these (their defaults changed
    before); passing them keeps results stable across Optuna versions, so the
    deprecation warnings are silenced here. ``group=True`` (a conditional
    space) models the parameters that occur together in trials (one branch's)
    jointly, each group on the trials that hold it; Optuna 5 calls it
    experimental, and its warning is silenced too.
    """
    from optuna.exceptions import ExperimentalWarning
    from optuna.samplers import TPESampler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ExperimentalWarning)
        return TPESampler(
            consider_prior=True,
            prior_weight=1.0,
            consider_magic_clip=True,
            consider_endpoints=False,
            n_startup_trials=int(n_startup_trials),
            n_ei_candidates=24,
            gamma=gamma,
            weights=uniform_weights,
            seed=int(seed),
            multivariate=True,
            group=bool(group),
            warn_independent_sampling=False,
            constant_liar=True,
            constraints_func=None,
        )


def new_study(sampler):
    """An in-memory study that maximises the CV score."""
    import optuna

    return optuna.create_study(direction="maximize", sampler=sampler, storage=None,
                               study_name="skkeras-search")


@contextlib.contextmanager
def quiet_optuna():
    """Silence Optuna's INFO log lines (study created, trial finished) for a while."""
    import optuna

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def bohb_model(results, objective, dims, seed):
    """BOHB's model: a TPE study of the results on the largest budget with enough of them.

    Falkner et al. (2018), Algorithm 2: the largest budget ``b`` with at least
    ``N_min + 2`` observations, ``N_min = d + 1`` for ``d`` parameters; only
    finite scores count, failed fits are added as pruned (bad) trials. None
    when no budget qualifies (the caller then samples at random).

    ``dims`` is a dict of :class:`Dimension` (one space) or a search space of
    :mod:`~skkeras_search.search._conditional` (``n_dims``, ``conditional``,
    ``observation``); for a conditional space ``d`` is its ``n_dims`` (the
    branch choice plus the largest branch), each row is credited to the
    branch it fits (see ``observation``) and the study models the branches'
    parameters in groups (``group=True``).
    """
    if results is None:
        return None
    import optuna

    if isinstance(dims, Mapping):
        d, group = len(dims), False
        distributions = {k: dim.distribution for k, dim in dims.items()}

        def observation(params):
            return {k: dim.encode(params[k]) for k, dim in dims.items()}, distributions
    else:
        d, group, observation = dims.n_dims, dims.conditional, dims.observation
    budgets = np.asarray(results["n_resources"])
    scores = np.asarray(results[objective], dtype=float)
    n_min = d + 1  # Falkner et al. (2018): N_min = d + 1
    usable = [b for b in sorted(set(budgets.tolist()), reverse=True)
              if np.isfinite(scores[budgets == b]).sum() >= n_min + 2]
    if not usable:
        return None
    study = new_study(tpe_sampler(seed, n_startup_trials=0, gamma=gamma_bohb, group=group))
    trials = []
    for i in np.flatnonzero(budgets == usable[0]):
        seen = observation(results["params"][i])
        if seen is None:  # fits no branch (cannot happen for the search's own rows)
            continue
        params, distributions = seen
        if np.isfinite(scores[i]):
            trials.append(optuna.trial.create_trial(params=params, distributions=distributions,
                                                    value=float(scores[i])))
        else:  # failed: a bad observation, not ignored
            trials.append(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED,
                                                    params=params, distributions=distributions))
    study.add_trials(trials)
    return study
