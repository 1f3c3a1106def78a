"""Search strategies inside scikit-learn's search API: Hyperband, BOHB and TPE.

Each class is a :class:`~sklearn.model_selection.GridSearchCV`-like
estimator built on scikit-learn's ``BaseSearchCV``: it only decides which
candidates to evaluate (``_run_search``), while cross-validation, scoring
(also several metrics with ``refit=name``), ``n_jobs`` and joblib/Dask
backends, ``error_score``, ``return_train_score`` and the refit are
scikit-learn's own. ``param_distributions`` are the same as for
``RandomizedSearchCV``: :mod:`skkeras_search.space` distributions,
``scipy.stats`` ``loguniform``/``uniform``/``randint``, and lists.

* :class:`HyperbandSearchCV` runs Hyperband's brackets of successive halving
  over the epoch budget (Li et al. 2017), or BOHB with ``sampler="tpe"``
  (Falkner et al. 2018). With :class:`~skkeras_search.KerasMLPClassifier`'s
  fit cache a promoted candidate trains only its extra epochs.
* :class:`ASHASearchCV` runs asynchronous successive halving (Li et al.
  2020): a free worker promotes a candidate or starts a new one at once, so a
  cluster stays busy; results then depend on the order fits end (recorded).
* :class:`TPESearchCV` asks Optuna's TPE sampler (Bergstra et al. 2011) for
  fixed-size batches of candidates, so results do not depend on ``n_jobs``.

:func:`use_gpus` runs the asynchronous searches' fits in one worker
process per GPU, each pinned to its device before TensorFlow starts.

With scikit-learn >= 1.9, callbacks given with ``set_callbacks`` (e.g.
``sklearn.callback.ProgressBar()``) follow these searches as they follow
``RandomizedSearchCV``: a "search" task, one subtask per round (or batch)
named like ``"bracket 1, round 2"`` or ``"batch 3"``, and one per
(candidate, fold) fit under it.
"""

from skkeras_search.exceptions import SearchWarning
from skkeras_search.search._asha_search import ASHASearchCV
from skkeras_search.search._executors import use_gpus
from skkeras_search.search._hyperband import Bracket, hyperband_brackets, round_sizes
from skkeras_search.search._hyperband_search import HyperbandSearchCV
from skkeras_search.search._tpe_search import TPESearchCV
from skkeras_search.search._warm_start import describe_space

__all__ = ["ASHASearchCV", "HyperbandSearchCV", "TPESearchCV", "SearchWarning", "Bracket",
           "hyperband_brackets", "round_sizes", "use_gpus", "describe_space"]
