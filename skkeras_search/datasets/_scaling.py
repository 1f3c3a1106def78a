"""How the numeric columns of a table are scaled: one searchable transformer.

:class:`NumericScaler` is the ``scale`` step of the numeric branch, after
the median imputer, that :func:`~skkeras_search.datasets.build_pipeline`
builds for ``numeric_scaling='quantile'`` or ``'robust'``. Its ``method`` is
then an ordinary parameter of the pipeline
(``preprocess__numeric__scale__method``), so a search can choose it and
every cross-validation fold fits it on its own training rows. The three
methods are those of the published tuning protocols for tabular MLPs:
standardisation (scikit-learn's ``StandardScaler``), the noisy quantile
transform of Gorishniy et al. and the robust scaling with smooth clipping
of RealMLP (Holzmüller et al., 2024).
"""

import difflib

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted

from skkeras_search._core.seeding import resolve_seed
from skkeras_search._core.validation import StrOptions, _fit_context, validate_data

__all__ = ["NumericScaler", "SCALING_METHODS", "check_scaling", "smooth_clip"]

SCALING_METHODS = ("standard", "quantile", "robust")

#: Noise added to each column before the quantile transform is fitted, as a
#: fraction of the column's standard deviation on the training rows.
QUANTILE_NOISE = 1e-3

#: RealMLP's smooth-clipping bound: outputs stay within (-3, 3).
CLIP = 3.0


def smooth_clip(z, bound=CLIP):
    """``z / sqrt(1 + (z / bound)**2)``: identity near 0, tends to +-``bound``.

    RealMLP's smooth clipping (Holzmüller et al., NeurIPS 2024, section 3;
    ``smooth_clip_func`` in pytabkit).
    """
    return z / np.sqrt(1.0 + (z / bound) ** 2)


def check_scaling(value, name="numeric_scaling"):
    """Refuse a ``value`` of ``name`` that is not a method, suggesting the nearest one.

    Raises
    ------
    ValueError
        ``value`` is not one of :data:`SCALING_METHODS`.
    """
    if value not in SCALING_METHODS:
        close = difflib.get_close_matches(str(value), SCALING_METHODS, n=1)
        raise ValueError(f"{name}={value!r} is not a scaling method. "
                         + (f"Did you mean {close[0]!r}? " if close else "")
                         + "Use 'standard', 'quantile' or 'robust'.")


def _binary_columns(X):
    """Columns holding exactly the values 0 and 1 (NaN aside): missing-indicators, flags."""
    present = ~np.isnan(X)
    ones, zeros = (X == 1) & present, (X == 0) & present
    return (ones | zeros | ~present).all(axis=0) & ones.any(axis=0) & zeros.any(axis=0)


class NumericScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale numeric columns by one of three methods, chosen by a parameter.

    ``'standard'`` is scikit-learn's ``StandardScaler`` on every column,
    bit for bit (what the pipeline's default ``StandardScaler`` step
    gives). ``'quantile'`` and ``'robust'`` leave the columns
    that hold only 0 and 1 in training (the imputer's missing-indicators,
    0/1 flags) as they are, as Gorishniy et al. keep binary features out of
    the quantile transform (a 0/1 column quantile-transformed without noise
    becomes -5.2/+5.2). A column constant in training becomes 0 in every
    method (in these two, whatever value it takes later). NaN is ignored at
    fit and kept at transform, as scikit-learn's scalers do.

    - ``'quantile'``: the noisy quantile transform of Gorishniy et al.
      ("On Embeddings for Numerical Features in Tabular Deep Learning",
      NeurIPS 2022; TabM, ICLR 2025): ``QuantileTransformer(
      output_distribution='normal', n_quantiles=max(min(n // 30, 1000), 10),
      subsample=10**9)`` (at most ``n`` quantiles, as scikit-learn would
      cap them) fitted on the ``n`` training rows plus Gaussian
      noise of standard deviation 1e-3 times each column's; transform adds
      no noise. Their code scales the noise differently (TabM: a fixed 1e-5;
      rtdl-num-embeddings: ``1e-3 / max(std, 1e-3)``); 1e-3 times the
      column's own spread gives the same output whatever the column's unit.
    - ``'robust'``: RealMLP's robust scaling and smooth clipping
      (Holzmüller et al., "Better by Default: Strong Pre-Tuned MLPs and
      Boosted Trees on Tabular Data", NeurIPS 2024; pytabkit's
      ``median_center``, ``robust_scale``, ``smooth_clip``):
      ``z = (x - median) / s`` with ``s`` the interquartile range, or
      ``(max - min) / 2`` where that is 0 (``z = 0`` where both are), then
      :func:`smooth_clip` ``z / sqrt(1 + (z / 3)**2)``, within (-3, 3).

    Parameters
    ----------
    method : {'standard', 'quantile', 'robust'}, default='standard'
    random_state : int, RandomState instance or None, default=None
        Seeds the quantile method's noise (and its ``QuantileTransformer``):
        the same seed and rows give the same output. Ignored by the others.

    Attributes
    ----------
    scaler_ : StandardScaler, QuantileTransformer or None
        The fitted scikit-learn transformer (None for ``'robust'``).
    center_, scale_ : ndarray of shape (n_features_in_,) or None
        ``'robust'`` only: the median and the divisor ``s`` (0 for a
        constant column).
    binary_ : ndarray of bool, shape (n_features_in_,)
        The 0/1 columns left as they are (all False for ``'standard'``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when fitted on a DataFrame with string column names.

    See Also
    --------
    sklearn.preprocessing.StandardScaler, sklearn.preprocessing.QuantileTransformer,
    sklearn.preprocessing.RobustScaler

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 0.0], [100.0, 1.0]])
    >>> NumericScaler(method="robust").fit_transform(X).round(3)
    array([[-0.949,  0.   ],
           [-0.493,  1.   ],
           [ 0.   ,  0.   ],
           [ 0.493,  0.   ],
           [ 2.994,  1.   ]])
    """

    _parameter_constraints = {
        "method": [StrOptions(set(SCALING_METHODS))],
        "random_state": ["random_state"],
    }

    def __init__(self, method="standard", random_state=None):
        self.method = method
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the method's statistics from the rows of ``X``; returns self.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        """
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan")
        self.scaler_ = self.center_ = self.scale_ = None
        if self.method == "standard":
            self.binary_ = np.zeros(X.shape[1], dtype=bool)
            self.scaler_ = StandardScaler().fit(X)
            return self
        self.binary_ = _binary_columns(X)
        if self.method == "quantile":
            self.scaler_ = self._fit_quantile(X)
        else:
            self.center_, self.scale_ = self._fit_robust(X)
        return self

    def _fit_quantile(self, X):
        seed = resolve_seed(self.random_state)
        n = X.shape[0]
        X = X.astype(np.float64)
        noise = np.random.default_rng(seed).standard_normal(X.shape)
        spread = np.nan_to_num(np.nanstd(X, axis=0))
        return QuantileTransformer(
            output_distribution="normal", n_quantiles=min(max(min(n // 30, 1000), 10), n),
            subsample=10**9, random_state=seed,
        ).fit(X + QUANTILE_NOISE * spread * noise)

    @staticmethod
    def _fit_robust(X):
        X = X.astype(np.float64)
        empty = np.isnan(X).all(axis=0)
        X = np.where(empty, 0.0, X)  # an all-NaN column: no statistics, no warnings
        center = np.nanmedian(X, axis=0)
        low, high = np.nanpercentile(X, [25, 75], axis=0)
        half_range = (np.nanmax(X, axis=0) - np.nanmin(X, axis=0)) / 2
        return center, np.where(high > low, high - low, half_range)

    def transform(self, X):
        """Scale ``X`` with the statistics learned in :meth:`fit`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            The input's float dtype (float32 stays float32).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan",
                          reset=False)
        if self.method == "standard":
            return self.scaler_.transform(X)
        if self.method == "quantile":
            out = self.scaler_.transform(X.astype(np.float64))
            constant = self.scaler_.quantiles_[0] == self.scaler_.quantiles_[-1]
            out[:, constant] = np.where(np.isnan(X[:, constant]), np.nan, 0.0)
        else:
            factor = np.divide(1.0, self.scale_, out=np.zeros_like(self.scale_),
                               where=self.scale_ > 0)
            out = smooth_clip((X.astype(np.float64) - self.center_) * factor)
        out[:, self.binary_] = X[:, self.binary_]
        return out.astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
