"""The epoch loop: shuffling, stopping rules and divergence, around _graph."""

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from skkeras_search._core import backend as _backend
from skkeras_search._core.divergence import EXPLODED_LOSS, divergence_message  # noqa: F401
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
    from sklearn.metrics import r2_score

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
    hyper : dict
        ``activation``, ``optimizer``, ``learning_rate``, ``alpha``, ``dropout``, and
        ``loss`` (default ``'cross_entropy'``, see ``_graph.LOSSES``).
    schedule : Schedule
    seed : int
        The fit's seed; epoch ``e`` shuffles and draws dropout from its own
        sub-stream, so continuing training reproduces training from scratch.
    validation : tuple (X_val, y_val) or None
        Held-out data scored after each epoch when early stopping.

    Returns
    -------
    history : History
    """
    tf = _backend.tensorflow()
    n_hidden = len(state.params) // 2 - 1
    dtype = X.dtype.name
    loss_name = hyper.get("loss", "cross_entropy")
    runner = _graph.epoch_function(
        n_hidden, hyper["activation"], hyper["optimizer"], dtype, hyper["dropout"] > 0, loss_name
    )
    cast = np.dtype(dtype).type
    X_t = tf.constant(X)
    y_t = tf.constant(y, dtype=tf.int32 if loss_name == "cross_entropy" else X.dtype)
    sw_t = tf.constant(sample_weight)
    constants = (
        tf.constant(schedule.batch_size, tf.int32),
        tf.constant(cast(hyper["learning_rate"])),
        tf.constant(cast(hyper["alpha"])),
        tf.constant(cast(hyper["dropout"])),
    )
    if validation is not None:
        X_val = tf.constant(validation[0])
    step = tf.constant(cast(state.step))
    history = History()
    no_improvement, best_params = 0, None
    n = X.shape[0]
    runner.load(state.params, state.slots_1, state.slots_2)
    try:
        for _ in range(0 if state.converged else schedule.epochs):
            start = time.perf_counter()
            epoch = state.epoch
            order = stream(seed, "shuffle", epoch).permutation(n).astype(np.int32)
            step, loss = runner.run(
                X_t, y_t, sw_t, order, *constants, tf_seed(seed, "dropout", epoch), step
            )
            loss = float(loss)
            state.epoch += 1
            if not np.isfinite(loss) or loss > EXPLODED_LOSS:
                raise TrainingDivergedError(
                    divergence_message(epoch + 1, loss, float(hyper["learning_rate"]),
                                       None if loss_name == "cross_entropy" else y),
                    epoch=epoch + 1,
                )
            history.loss_curve.append(loss)
            message = f"Epoch {state.epoch} - loss: {loss:.6f}"
            if validation is not None:
                params = runner.current()
                score = _validation_score(loss_name, n_hidden, hyper["activation"], X_val,
                                          validation[1], params)
                history.validation_scores.append(score)
                message += (f" - val_accuracy: {score:.6f}" if loss_name == "cross_entropy"
                            else f" - val_r2: {score:.6f}")
                if score > history.best_validation_score:
                    history.best_validation_score = score
                    best_params = params
                better = score >= _best_before(history) + schedule.tol
                no_improvement = 0 if better else no_improvement + 1
            else:
                improved = loss <= state.best_loss - schedule.tol
                state.no_improvement = 0 if improved else state.no_improvement + 1
                state.best_loss = min(state.best_loss, loss)
                no_improvement = state.no_improvement
            if schedule.verbose:
                print(f"{message} - {time.perf_counter() - start:.3f}s", file=sys.stdout)
            if no_improvement >= schedule.n_iter_no_change:
                history.converged = state.converged = True
                break
        state.params, state.slots_1, state.slots_2 = runner.read()
        if best_params is not None:
            state.params = [p.numpy() for p in best_params]
        state.step = float(step)
    finally:
        runner.release()
    return history


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
