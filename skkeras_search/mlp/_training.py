"""The epoch loop: shuffling, stopping rules and divergence, around _graph."""

import sys
import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import r2_score

from skkeras_search._core import backend as _backend
from skkeras_search._core.divergence import divergence_message, has_diverged
from skkeras_search._core.seeding import stream, tf_seed
from skkeras_search.exceptions import TrainingDivergedError  # noqa: F401 - raised here, re-exported
from skkeras_search.mlp import _graph

__all__ = ["TrainingDivergedError", "divergence_message", "TrainState", "Schedule", "new_state", "train"]


@dataclass
class TrainState:
    """Everything needed to continue training: weights, optimizer, epoch."""

    params: list  # [W1, b1, ..., Wk, bk] as ndarrays
    slots_1: list
    slots_2: list
    step: float = 0.0
    epoch: int = 0
    # MLPClassifier's stopping rule on the training loss, carried over so that
    # continued training stops exactly where training from scratch would.
    best_loss: float = np.inf
    no_improvement: int = 0
    converged: bool = False
    # The step at which the learning-rate schedule's cycle began (0, or where
    # a warm_start fit started a new one); the constant schedule ignores it.
    cycle_origin: float = 0.0

    def copy(self):
        return TrainState(
            [p.copy() for p in self.params],
            [s.copy() for s in self.slots_1],
            [s.copy() for s in self.slots_2],
            self.step,
            self.epoch,
            self.best_loss,
            self.no_improvement,
            self.converged,
            self.cycle_origin,
        )

    def reset_stopping(self):
        self.best_loss, self.no_improvement, self.converged = np.inf, 0, False


@dataclass
class Schedule:
    """How long to train and when to stop (MLPClassifier's stopping rules)."""

    epochs: int
    batch_size: int
    tol: float
    n_iter_no_change: int
    verbose: int = 0
    # Epochs the learning-rate schedule's cycle spans (None: ``epochs``); its
    # length in updates is that times the batches of an epoch.
    cycle_epochs: int = None


@dataclass
class History:
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_validation_score: float = -np.inf
    converged: bool = False
    epochs_trained: int = 0  # by this call; 0 when loaded from the fit cache


def new_state(seed, layer_sizes, dtype):
    """Freshly initialised weights (GlorotUniform kernels, zero biases)."""
    params = _graph.glorot_init(stream(seed, "init"), layer_sizes, dtype)
    zeros = [np.zeros_like(p) for p in params]
    return TrainState(params, zeros, [z.copy() for z in zeros])


def _validation_score(loss, n_hidden, activation, X, y, params):
    """Accuracy (classification) or R^2 averaged over outputs (regression), as scikit-learn's
    MLPClassifier and MLPRegressor score their validation split."""
    if loss == "cross_entropy":
        proba_fn = _graph.proba_function(n_hidden, activation, X.dtype.name)
        return float(np.mean(np.argmax(proba_fn(X, params).numpy(), axis=1) == y))
    output = _graph.output_function(n_hidden, activation, X.dtype.name)(X, params).numpy()
    return float(r2_score(y, output))


def train(state, X, y, sample_weight, *, hyper, schedule, seed, validation=None):
    """Train ``state`` in place for up to ``schedule.epochs`` epochs.

    Parameters
    ----------
    state : TrainState
        Weights and optimizer state to continue from.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), int32 codes in [0, n_classes), or of shape
        (n_samples, n_outputs) in X's dtype for a regression loss
    sample_weight : ndarray of shape (n_samples,), same dtype as X
        Non-negative, on the scale the user gave them: a batch's data loss is
        ``sum(w * l) / sum(w)``, and its L2 term scikit-learn's ``0.5 * alpha *
        sum(W**2) / sum(w)`` (:func:`_graph.l2_coefficient`; a regression loss's
        divided by the outputs), so scaling every weight by ``c`` divides the
        penalty by ``c``, as in MLPClassifier.
    hyper : dict
        ``activation``, ``optimizer``, ``learning_rate``, ``alpha`` (scikit-learn's
        MLPClassifier's), ``dropout``, and
        optionally ``loss`` (default ``'cross_entropy'``, see ``_graph.LOSSES``),
        ``weight_decay`` (0.0), ``learning_rate_schedule`` (``'constant'``, see
        ``_graph.LR_SCHEDULES``; its cycle starts at ``state.cycle_origin``) and
        ``label_smoothing`` (0.0).
    schedule : Schedule
    seed : int
        The fit's seed; epoch ``e`` shuffles and draws dropout from its own
        sub-stream, so continuing training reproduces training from scratch.
    validation : tuple (X_val, y_val) or None
        Held-out data scored after each epoch when early stopping.

    Returns
    -------
    history : History

    Raises
    ------
    TrainingDivergedError
        An epoch's loss was NaN, infinite or above ``EXPLODED_LOSS``.
    """
    tf = _backend.tensorflow()
    n_hidden = len(state.params) // 2 - 1
    loss_name = hyper.get("loss", "cross_entropy")
    options = _options(hyper)
    runner = _graph.epoch_runner(
        n_hidden, hyper["activation"], hyper["optimizer"], X.dtype.name, hyper["dropout"] > 0,
        loss_name, weight_decay=options["weight_decay"] > 0,
        schedule=options["learning_rate_schedule"], smoothing=options["label_smoothing"] > 0,
    )
    cast = X.dtype.type
    sample_weight, unit = _mean_one_weights(sample_weight)
    data = (tf.constant(X),
            tf.constant(y, dtype=tf.int32 if loss_name == "cross_entropy" else X.dtype),
            tf.constant(sample_weight))
    cycle = schedule.epochs if schedule.cycle_epochs is None else schedule.cycle_epochs
    batches = -(-X.shape[0] // schedule.batch_size)  # updates per epoch
    constants = (
        tf.constant(schedule.batch_size, tf.int32),
        tf.constant(cast(hyper["learning_rate"])),
        # the L2 coefficient per unit of (mean-one) batch weight: a batch of weight
        # w gets l2_coefficient(alpha, loss, w * unit, outputs), w * unit its weight as given
        tf.constant(cast(_graph.l2_coefficient(hyper["alpha"], loss_name, unit,
                                               state.params[-1].shape[0]))),
        tf.constant(cast(hyper["dropout"])),
    )
    # after the step argument: the options' values, the schedule's length and origin
    extra = tuple(tf.constant(cast(v)) for v in (
        options["weight_decay"], options["label_smoothing"], max(cycle, 1) * batches,
        state.cycle_origin))
    hold_out = None if validation is None else _HoldOut(validation, loss_name, n_hidden,
                                                        hyper["activation"], schedule.tol)
    history = History()
    runner.load(state.params, state.slots_1, state.slots_2)
    try:
        step = _run_epochs(runner, state, history, data, constants, extra,
                           tf.constant(cast(state.step)),
                           hyper=hyper, schedule=schedule, seed=seed, hold_out=hold_out,
                           targets=None if loss_name == "cross_entropy" else y)
        state.params, state.slots_1, state.slots_2 = runner.read()
        if hold_out is not None and hold_out.best_params is not None:
            state.params = [p.numpy() for p in hold_out.best_params]
        state.step = float(step)
    finally:
        runner.release()
    return history


def _mean_one_weights(sample_weight):
    """``(weights / their mean, their mean)``; the mean is 1.0 when every weight is 0.

    The graph sees weights of mean one (integer weights then equal repeated
    rows in the data loss, whatever their scale) and the mean converts its
    batch weights back to the user's scale for the penalty.
    """
    total = float(np.sum(sample_weight, dtype=np.float64))
    n = sample_weight.shape[0]
    if not total > 0:
        return sample_weight, 1.0
    normalised = (sample_weight * (n / sample_weight.sum())).astype(sample_weight.dtype)
    return normalised, total / n


def _run_epochs(runner, state, history, data, constants, extra, step, *, hyper, schedule, seed,
                hold_out, targets):
    """The epoch loop of :func:`train`: run, check, record and stop; return the step tensor.

    ``targets`` (regression's, else None) let a divergence name unscaled
    targets as its cause.
    """
    n = int(data[0].shape[0])
    dropout = hyper["dropout"] > 0
    unused_seed = np.zeros(2, np.int64)  # a graph without dropout never reads its seed
    for _ in range(0 if state.converged else schedule.epochs):
        start = time.perf_counter()
        epoch = state.epoch
        order = stream(seed, "shuffle", epoch).permutation(n).astype(np.int32)
        drop_seed = tf_seed(seed, "dropout", epoch) if dropout else unused_seed
        step, loss = runner.run(*data, order, *constants, drop_seed, step, *extra)
        loss = float(loss)
        state.epoch += 1
        if has_diverged(loss):
            raise TrainingDivergedError(
                divergence_message(epoch + 1, loss, float(hyper["learning_rate"]), targets),
                epoch=epoch + 1,
            )
        history.loss_curve.append(loss)
        message = f"Epoch {state.epoch} - loss: {loss:.6f}"
        if hold_out is not None:
            no_improvement, scored = hold_out.score(runner, history)
            message += scored
        else:
            no_improvement = _training_loss_rule(state, loss, schedule.tol)
        if schedule.verbose:
            print(f"{message} - {time.perf_counter() - start:.3f}s", file=sys.stdout)
        if no_improvement >= schedule.n_iter_no_change:
            history.converged = state.converged = True
            break
    return step


def _options(hyper):
    """The training options of ``hyper``, with the defaults that leave them out."""
    return {"weight_decay": float(hyper.get("weight_decay", 0.0)),
            "learning_rate_schedule": hyper.get("learning_rate_schedule", "constant"),
            "label_smoothing": float(hyper.get("label_smoothing", 0.0))}


def _training_loss_rule(state, loss, tol):
    """MLPClassifier's stopping rule on the training loss; return the epochs without improvement.

    Its state lives in ``state``, so that continued training stops where
    training from scratch would.
    """
    improved = loss <= state.best_loss - tol
    state.no_improvement = 0 if improved else state.no_improvement + 1
    state.best_loss = min(state.best_loss, loss)
    return state.no_improvement


class _HoldOut:
    """Early stopping's rule: score each epoch's weights on the hold-out, keep the best ones."""

    def __init__(self, validation, loss_name, n_hidden, activation, tol):
        self.X = _backend.tensorflow().constant(validation[0])
        self.y, self.loss_name, self.n_hidden, self.activation = (
            validation[1], loss_name, n_hidden, activation)
        self.tol, self.no_improvement, self.best_params = tol, 0, None

    def score(self, runner, history):
        """Score the runner's weights; return (epochs without improvement, verbose text)."""
        params = runner.current()
        score = _validation_score(self.loss_name, self.n_hidden, self.activation, self.X,
                                  self.y, params)
        history.validation_scores.append(score)
        if score > history.best_validation_score:
            history.best_validation_score = score
            self.best_params = params
        better = score >= _best_before(history) + self.tol
        self.no_improvement = 0 if better else self.no_improvement + 1
        name = "val_accuracy" if self.loss_name == "cross_entropy" else "val_r2"
        return self.no_improvement, f" - {name}: {score:.6f}"


def _best_before(history):
    """Best validation score before the latest epoch."""
    previous = history.validation_scores[:-1]
    return max(previous) if previous else -np.inf


def predict_proba(params, X, activation):
    """Class probabilities of the MLP with ``params`` on ``X``."""
    n_hidden = len(params) // 2 - 1
    proba_fn = _graph.proba_function(n_hidden, activation, X.dtype.name)
    return proba_fn(X, tuple(params)).numpy()


def predict_output(params, X, activation):
    """Linear outputs of the MLP with ``params`` on ``X``, shape (n_samples, n_outputs)."""
    n_hidden = len(params) // 2 - 1
    output_fn = _graph.output_function(n_hidden, activation, X.dtype.name)
    return output_fn(X, tuple(params)).numpy()
