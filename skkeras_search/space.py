"""Search-space distributions, the space of Bergstra and Bengio (2012), and a tabular one.

scipy.stats has no stepped-integer distribution and its frozen
distributions neither check bounds at construction nor print briefly, so
this module provides two small ones. Each has ``rvs(size=None,
random_state=None)`` drawing only from the generator it is given, which is
what :class:`~sklearn.model_selection.ParameterSampler` (and so
``RandomizedSearchCV`` and ``HyperbandSearchCV``; ``TPESearchCV`` converts them to Optuna's) calls.

>>> from skkeras_search.space import paper_space
>>> paper_space()
{'hidden_units': IntRange(16, 496, step=32), 'learning_rate': LogUniform(1e-05, 1.0)}

:func:`tabular_space` is the conditional space (a list of dicts) for tables,
after the published tuning spaces of tabular MLPs.
"""

import difflib
from numbers import Integral, Real

import numpy as np
from scipy import stats
from sklearn.base import is_classifier
from sklearn.utils import check_random_state

__all__ = ["LogUniform", "IntRange", "log_uniform", "int_range", "paper_space", "paper_grid",
           "tabular_space", "tabular_training", "NUMERIC_SCALING", "SCALING_METHODS",
           "TABULAR_TRAINING", "TABULAR_SEARCH_CLASSIFIER"]


def _generator(random_state):
    """A Generator or RandomState to draw from, never the global one implicitly."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return check_random_state(random_state)


def _uniform(rng, size):
    return rng.random(size) if isinstance(rng, np.random.Generator) else rng.random_sample(size)


def _integers(rng, n, size):
    if isinstance(rng, np.random.Generator):
        return rng.integers(0, n, size=size)
    return rng.randint(0, n, size=size)


class LogUniform:
    """Continuous distribution whose logarithm is uniform on [log low, log high].

    Parameters
    ----------
    low, high : float
        Bounds, with ``0 < low < high``.
    """

    def __init__(self, low, high):
        for name, value in (("low", low), ("high", high)):
            if not isinstance(value, Real) or isinstance(value, bool) or not np.isfinite(value):
                raise TypeError(f"{name}={value!r} is not a finite real number. Pass a float.")
            if value <= 0:
                raise ValueError(
                    f"{name}={value!r} is not positive; a log-uniform distribution needs "
                    f"0 < low < high. Use e.g. log_uniform(1e-5, 1.0)."
                )
        if low >= high:
            raise ValueError(f"low={low!r} must be smaller than high={high!r}. Swap them.")
        self.low, self.high = float(low), float(high)

    def rvs(self, size=None, random_state=None):
        """Draw samples; a scalar float when ``size`` is None."""
        rng = _generator(random_state)
        u = _uniform(rng, size)
        out = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        out = np.clip(out, self.low, self.high)
        return float(out) if size is None else out

    def __repr__(self):
        return f"LogUniform({self.low!r}, {self.high!r})"

    def __eq__(self, other):
        return type(other) is LogUniform and (self.low, self.high) == (other.low, other.high)

    def __hash__(self):
        return hash((LogUniform, self.low, self.high))


class IntRange:
    """Uniform distribution over ``low, low + step, ..., <= high``.

    ``high`` is included when it lies on the step grid.

    Parameters
    ----------
    low, high : int
        Bounds, ``low <= high``.
    step : int, default=1
        Spacing of the grid, at least 1.
    """

    def __init__(self, low, high, step=1):
        for name, value in (("low", low), ("high", high), ("step", step)):
            if not isinstance(value, Integral) or isinstance(value, bool):
                raise TypeError(f"{name}={value!r} is not an integer. Pass an int.")
        if step < 1:
            raise ValueError(f"step={step!r} must be at least 1. Use step>=1.")
        if low > high:
            raise ValueError(
                f"low={low!r} is greater than high={high!r}: the range is empty. Swap them."
            )
        self.low, self.high, self.step = int(low), int(high), int(step)

    @property
    def values(self):
        """Every value the distribution can take, ascending."""
        return np.arange(self.low, self.high + 1, self.step)

    def rvs(self, size=None, random_state=None):
        """Draw samples; a Python int when ``size`` is None."""
        rng = _generator(random_state)
        n = (self.high - self.low) // self.step + 1
        k = _integers(rng, n, size)
        out = self.low + self.step * np.asarray(k, dtype=np.int64)
        return int(out) if size is None else out

    def __repr__(self):
        step = f", step={self.step}" if self.step != 1 else ""
        return f"IntRange({self.low}, {self.high}{step})"

    def __eq__(self, other):
        return type(other) is IntRange and (self.low, self.high, self.step) == (
            other.low, other.high, other.step,
        )

    def __hash__(self):
        return hash((IntRange, self.low, self.high, self.step))


def log_uniform(low, high):
    """Log-uniform distribution on [low, high]; see :class:`LogUniform`."""
    return LogUniform(low, high)


def int_range(low, high, step=1):
    """Integers ``low, low + step, ..., <= high``, uniformly; see :class:`IntRange`."""
    return IntRange(low, high, step)


def paper_space():
    """The search space of Bergstra and Bengio (2012) for a one-layer MLP.

    Returns
    -------
    space : dict
        ``hidden_units`` in 16..496 in steps of 32 and ``learning_rate``
        log-uniform on [1e-5, 1], ready for ``param_distributions``.
    """
    return {"hidden_units": int_range(16, 496, 32), "learning_rate": log_uniform(1e-5, 1.0)}


def paper_grid(n_learning_rates=6, n_hidden_units=16):
    """The grid equivalent of :func:`paper_space`, for ``GridSearchCV``.

    Parameters
    ----------
    n_learning_rates : int, default=6
        Number of log-spaced learning rates from 1e-5 to 1 (6 gives the
        powers of ten).
    n_hidden_units : int, default=16
        Number of widths, evenly spread over the 16 of the paper's space
        (16 takes them all).

    Returns
    -------
    grid : dict
        ``n_hidden_units`` widths and ``n_learning_rates`` learning rates.

    Raises
    ------
    ValueError
        ``n_learning_rates`` below 2, or ``n_hidden_units`` outside 1..16.

    Examples
    --------
    >>> from skkeras_search import paper_grid
    >>> grid = paper_grid(n_learning_rates=4, n_hidden_units=5)
    >>> grid["hidden_units"]
    [16, 144, 272, 368, 496]
    """
    if not isinstance(n_learning_rates, Integral) or n_learning_rates < 2:
        raise ValueError(
            f"n_learning_rates={n_learning_rates!r} must be an int of at least 2. "
            "Use n_learning_rates>=2."
        )
    widths = [int(h) for h in int_range(16, 496, 32).values]
    if not isinstance(n_hidden_units, Integral) or not 1 <= n_hidden_units <= len(widths):
        raise ValueError(f"n_hidden_units={n_hidden_units!r} must be an int from 1 to "
                         f"{len(widths)}. Use 1<=n_hidden_units<={len(widths)}.")
    picks = np.unique(np.round(np.linspace(0, len(widths) - 1, n_hidden_units)).astype(int))
    return {
        "hidden_units": [widths[i] for i in picks],
        "learning_rate": [float(f"{v:.12g}") for v in np.logspace(-5, 0, n_learning_rates)],
    }


#: The searched pipeline's parameter of the numeric columns' scaling: the
#: ``method`` of the ``NumericScaler`` that ``datasets.build_pipeline`` puts in
#: its ``preprocess`` step (a pipeline step path, not a network parameter).
NUMERIC_SCALING = "preprocess__numeric__scale__method"
#: The values :data:`NUMERIC_SCALING` takes (``datasets.NumericScaler``'s methods).
SCALING_METHODS = ("standard", "quantile", "robust")


def tabular_space(*, numeric_scaling=True):
    """A conditional search space for MLPs on tables: four branches, as a list of dicts.

    The tuning space of Gorishniy et al.'s MLP baseline (TabM, ICLR 2025:
    1 to 6 blocks of width 64 to 1024, dropout 0 or uniform in [0, 0.5],
    AdamW's weight decay 0 or log-uniform in [1e-4, 0.1], quantile-scaled
    numeric features) cut to the command's budgets, with RealMLP's robust
    scaling (Holzmüller et al., NeurIPS 2024) as a third numeric scaling.
    Every branch holds:

    - ``n_layers``: 1 to 4 hidden layers (``IntRange(1, 4)``);
    - ``hidden_units``: 64 to 512 units per layer in steps of 64;
    - ``learning_rate``: log-uniform on [3e-4, 1e-2]. TabM's range,
      [3e-5, 1e-3], is for runs of hundreds of epochs with early stopping;
      a search here trains at most a few dozen epochs (the command's default
      for tables: rungs of 1 to 27 epochs), about ten times fewer updates, so
      the range moves up by a decade. Measured on a 5,000-row table at 27
      epochs (3 folds): 1e-4 underfits (accuracy 0.69-0.75 against
      0.79-0.81 for 3e-4 to 1e-2), and the best rate falls from 1e-2 (two
      layers of 256) to 3e-4-1e-3 (four of 512);
    - ``batch_size``: 32, 64, 128, 256 or 512 (TabM: 256, for hundreds of
      epochs). Within a few dozen epochs a small table gets few updates from
      large batches: on concrete (772 training rows), the regression preset
      at batch 64 reached held-out R2 0.883-0.888 against 0.857-0.863 at
      256 (3 seeds each). A batch larger than the training rows is cut to
      them, with a warning (as MLPClassifier does);
    - ``alpha``: 0 (``[0.0]``), no L2 penalty: the regularisation is TabM's,
      dropout and weight decay, each off in two of the branches;
    - with ``numeric_scaling``, :data:`NUMERIC_SCALING` in
      :data:`SCALING_METHODS` (``'standard'``, Gorishniy et al.'s noisy
      ``'quantile'``, RealMLP's ``'robust'``).

    The branches are the cross product of dropout off/on and weight decay
    off/on; a branch holds only the parameters that matter in it:

    0. neither (the estimator's ``dropout`` and ``weight_decay``, 0 by default;
       no regularisation at all);
    1. ``dropout`` uniform on [0, 0.5];
    2. ``optimizer='adamw'`` with ``weight_decay`` log-uniform on [1e-4, 0.1];
    3. both.

    A list of dicts is scikit-learn's conditional space: ``RandomizedSearchCV``,
    :class:`~skkeras_search.search.TPESearchCV`, ``HyperbandSearchCV`` (also
    BOHB) and ``ASHASearchCV`` (also ``sampler='tpe'``) draw each candidate
    from one branch, and ``cv_results_`` masks the other branches' parameters.

    Parameters
    ----------
    numeric_scaling : bool, default=True
        Search :data:`NUMERIC_SCALING`. Only a pipeline from
        ``skkeras_search.datasets.build_pipeline`` over a table with numeric
        columns has that parameter: pass False for a bare estimator, images,
        or a table of categorical columns only.

    Returns
    -------
    space : list of 4 dicts
        Network parameter names as ``KerasMLPClassifier`` and
        ``KerasMLPRegressor`` have them (``n_layers``, ...), and the one
        pipeline name :data:`NUMERIC_SCALING`. Over a pipeline, put the
        network's step before the network names (``classifier__n_layers``;
        ``regressor__regressor__n_layers`` inside the command's
        ``TransformedTargetRegressor``) and leave ``preprocess__...`` as it
        is: the ``skkeras-search`` command (``--space tabular``) does so.

    See Also
    --------
    paper_space : the one-layer space of Bergstra and Bengio (2012).
    tabular_training : what a search over this space keeps fixed on the
        network (the preset's cosine schedule and label smoothing, and a
        classifier's early stopping), as the command does.

    Examples
    --------
    >>> from skkeras_search.space import tabular_space
    >>> space = tabular_space(numeric_scaling=False)
    >>> [sorted(set(b) - set(space[0])) for b in space]
    [[], ['dropout'], ['optimizer', 'weight_decay'], ['dropout', 'optimizer', 'weight_decay']]
    >>> space[0]
    {'n_layers': IntRange(1, 4), 'hidden_units': IntRange(64, 512, step=64), \
'learning_rate': LogUniform(0.0003, 0.01), 'batch_size': [32, 64, 128, 256, 512], \
'alpha': [0.0]}
    """
    if not isinstance(numeric_scaling, bool):
        raise TypeError(f"numeric_scaling={numeric_scaling!r} is not a bool. "
                        "Pass True or False.")
    base = {"n_layers": int_range(1, 4), "hidden_units": int_range(64, 512, 64),
            "learning_rate": log_uniform(3e-4, 1e-2),
            "batch_size": [32, 64, 128, 256, 512], "alpha": [0.0]}
    if numeric_scaling:
        base[NUMERIC_SCALING] = list(SCALING_METHODS)
    dropout = ({}, {"dropout": stats.uniform(0.0, 0.5)})
    decay = ({}, {"optimizer": ["adamw"], "weight_decay": log_uniform(1e-4, 0.1)})
    return [{**base, **d, **w} for w in decay for d in dropout]


#: The training options a tabular search keeps at its preset's values (not searched).
TABULAR_TRAINING = ("learning_rate_schedule", "label_smoothing")
#: What a tabular search's classifier adds to the preset's recipe: early stopping on a 10%
#: hold-out of each fit, the best validation epoch kept (see :func:`tabular_training`).
TABULAR_SEARCH_CLASSIFIER = {"early_stopping": True}


def tabular_training(estimator):
    """The training recipe a search over :func:`tabular_space` keeps fixed: the preset's.

    The network's options that :func:`tabular_space` does not search,
    :data:`TABULAR_TRAINING`, at the values of ``estimator.tabular_defaults()``:
    ``learning_rate_schedule='cosine'`` and, for a classifier,
    ``label_smoothing=0.1`` (``KerasMLPRegressor`` has no label smoothing).
    ``benchmarks/meta_tune_tabular.py`` chose both on the training splits of
    ``benchmarks/bench_tabular.py``'s tables; searched with the estimator's
    defaults instead (a constant rate, no smoothing), the command's table
    search reached a lower held-out score than the untuned preset on 5 of
    its 7 classification tables.

    A classifier's search also stops early (:data:`TABULAR_SEARCH_CLASSIFIER`:
    ``early_stopping=True``, a 10% hold-out of each fit's rows, the best
    validation epoch kept), as Gorishniy et al. (ICLR 2025) and Holzmüller
    et al. (NeurIPS 2024) train, and as ``MLPClassifier(early_stopping=True)``
    does. The preset itself does not: trained once on all its rows, it
    scored lower with it. On the benchmark's 7 classification tables,
    over two seeds of split, folds and networks, early stopping moved the
    search's median held-out gap to an ``MLPClassifier`` tuned with as many
    candidates from -0.0008 and -0.0075 to +0.0034 and +0.0032. Regressors
    keep training every epoch (not measured). The ``skkeras-search`` command sets these on
    its network under ``--space tabular``; in a library search, set them on
    the estimator: ``KerasMLPClassifier(**tabular_training(KerasMLPClassifier))``.

    Under ``learning_rate_schedule='cosine'`` a run's rates depend on its
    epoch budget, so a multi-fidelity search (Hyperband, ASHA) retrains a
    promoted candidate from scratch instead of continuing its shorter run.

    Parameters
    ----------
    estimator : class or instance with a ``tabular_defaults()`` classmethod
        ``KerasMLPClassifier`` or ``KerasMLPRegressor`` (or an instance).

    Returns
    -------
    params : dict
        Estimator parameter names to values, only those ``estimator`` has.

    Raises
    ------
    TypeError
        ``estimator`` has no ``tabular_defaults``.

    Examples
    --------
    >>> from skkeras_search import KerasMLPClassifier, KerasMLPRegressor
    >>> from skkeras_search.space import tabular_training
    >>> tabular_training(KerasMLPClassifier)
    {'learning_rate_schedule': 'cosine', 'label_smoothing': 0.1, 'early_stopping': True}
    >>> tabular_training(KerasMLPRegressor)
    {'learning_rate_schedule': 'cosine'}
    """
    defaults = getattr(estimator, "tabular_defaults", None)
    if not callable(defaults):
        raise TypeError(f"estimator={estimator!r} has no tabular_defaults(). Pass "
                        "KerasMLPClassifier or KerasMLPRegressor.")
    preset = defaults()
    params = preset.get_params(deep=False)
    recipe = {name: params[name] for name in TABULAR_TRAINING if name in params}
    if is_classifier(preset):
        recipe.update(TABULAR_SEARCH_CLASSIFIER)
    return recipe


def space_from_dict(spec, valid_names=None, owner="the estimator"):
    """Build a search space from plain data (e.g. a JSON file).

    Each entry maps a parameter name to ``{"log_uniform": [low, high]}``,
    ``{"int_range": [low, high, step]}``, a list of choices, or one value.

    Parameters
    ----------
    spec : dict
    valid_names : collection of str, optional
        Allowed parameter names; a misspelt one gets a "did you mean" hint.
    owner : str, default="the estimator"
        What has those parameters, for the message (e.g. ``"KerasMLPRegressor"``).

    Returns
    -------
    space : dict
        Usable as ``param_distributions``.

    Raises
    ------
    ValueError
        ``spec`` is not a non-empty dict, names a parameter outside
        ``valid_names``, or holds an entry of another form.
    """

    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"space={spec!r} must be a non-empty JSON object of parameter names. "
                         'E.g. {"learning_rate": {"log_uniform": [1e-5, 1.0]}}.')
    space = {}
    for name, value in spec.items():
        if valid_names is not None and name not in valid_names:
            close = difflib.get_close_matches(name, list(valid_names), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else f"Use one of {sorted(valid_names)}."
            raise ValueError(f"space parameter {name!r} is not a parameter of {owner}. {hint}")
        if isinstance(value, dict):
            if len(value) != 1 or next(iter(value)) not in ("log_uniform", "int_range"):
                raise ValueError(
                    f"space[{name!r}]={value!r} is not understood. Use "
                    '{"log_uniform": [low, high]} or {"int_range": [low, high, step]}.'
                )
            kind, args = next(iter(value.items()))
            space[name] = (log_uniform if kind == "log_uniform" else int_range)(*args)
        elif isinstance(value, list):
            if not value:
                raise ValueError(f"space[{name!r}] is an empty list. Give at least one choice.")
            space[name] = value
        else:
            space[name] = [value]
    return space


def distribution_bounds(distribution):
    """The numeric range of a distribution and whether it is log-scaled, or None.

    Understands :class:`LogUniform`, :class:`IntRange` and the frozen
    ``scipy.stats`` distributions ``loguniform`` (alias ``reciprocal``),
    ``uniform`` and ``randint``; anything else (a list of choices, another
    distribution) gives None, and the caller decides from the values drawn.

    Parameters
    ----------
    distribution : object
        One value of a ``param_distributions`` dict.

    Returns
    -------
    bounds : dict or None
        ``{"kind": "float" or "int", "low": ..., "high": ..., "step": int or None,
        "log": bool}``; both bounds included (``IntRange``'s ``high`` moved down
        onto its step grid, ``randint``'s exclusive ``high`` made inclusive).

    Examples
    --------
    >>> distribution_bounds(log_uniform(1e-5, 1.0))
    {'kind': 'float', 'low': 1e-05, 'high': 1.0, 'step': None, 'log': True}
    >>> distribution_bounds(int_range(16, 500, 32))["high"]
    496
    """
    if isinstance(distribution, LogUniform):
        return {"kind": "float", "low": distribution.low, "high": distribution.high,
                "step": None, "log": True}
    if isinstance(distribution, IntRange):
        step = distribution.step
        high = distribution.low + step * ((distribution.high - distribution.low) // step)
        return {"kind": "int", "low": distribution.low, "high": high, "step": step, "log": False}
    name = getattr(getattr(distribution, "dist", None), "name", None)
    if name is None or not (hasattr(distribution, "support") and hasattr(distribution, "cdf")):
        return None
    low, high = (float(v) for v in distribution.support())
    if name in ("loguniform", "reciprocal") and 0 < low < high < np.inf and np.isclose(
            float(distribution.cdf(np.sqrt(low * high))), 0.5, rtol=0, atol=1e-9):
        return {"kind": "float", "low": low, "high": high, "step": None, "log": True}
    if name == "uniform" and np.isfinite(low) and np.isfinite(high) and low < high:
        return {"kind": "float", "low": low, "high": high, "step": None, "log": False}
    if name == "randint" and low <= high:
        return {"kind": "int", "low": int(low), "high": int(high), "step": 1, "log": False}
    return None


__all__ += ["distribution_bounds"]
