"""Search a small convolutional network on MNIST-shaped images with Hyperband or TPE.

Your own Keras model-building function becomes a scikit-learn estimator with
``KerasClassifier(build_cnn)``; its keyword arguments (``filters``,
``dense_units``, ``learning_rate``) are searched by name, cross-validated, and
the best model is refit on all search data and scored on held-out images.

Data: the MNIST test split in ``../shared/datasets/mnist-test`` (IDX files,
28x28x1, divided by 255) when present, else scikit-learn's digits (8x8x1,
divided by 16). Run::

    python examples/search_cnn.py                       # Hyperband, 2000 images
    python examples/search_cnn.py --strategy tpe --n-iter 8 --epochs 4
    python examples/search_cnn.py --data path/to/mnist-idx-folder --n-samples 5000

With Hyperband, candidates start on a few epochs and the best third of each
round get three times as many; the fit cache lets a promoted candidate train
only its extra epochs (bit-identical to training from scratch).
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up log

import numpy as np
from scipy.stats import loguniform
from sklearn.model_selection import train_test_split

from skkeras_search import HyperbandSearchCV, KerasClassifier, TPESearchCV

MNIST = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "shared", "datasets", "mnist-test"))


def build_cnn(input_shape, n_classes, filters=8, dense_units=32, learning_rate=3e-3):
    """Conv -> pool -> dense -> softmax, compiled with Adam."""
    import keras  # imported by the first fit, after skkeras_search has set TensorFlow's threads
    model = keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(filters, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(dense_units, activation="relu"),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def load_images(path, n_samples):
    """Images as (n, height, width, 1) float32 in [0, 1], and their labels."""
    if path and os.path.isdir(path):
        from skkeras_search.datasets import load

        ds = load(data=path)
        X = ds.X.reshape(-1, *ds.image_shape, 1).astype(np.float32) / 255
        name = f"MNIST ({path})"
        y = ds.y
    else:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = (X / 16).reshape(-1, 8, 8, 1).astype(np.float32)
        name = "scikit-learn digits (MNIST not found)"
    return X[:n_samples], y[:n_samples], name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=MNIST, help="folder of MNIST IDX files")
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--strategy", choices=["hyperband", "tpe"], default="hyperband")
    parser.add_argument("--epochs", type=int, default=9, help="full budget per candidate")
    parser.add_argument("--n-iter", type=int, default=8, help="TPE candidates")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    X, y, name = load_images(args.data, args.n_samples)
    X_search, X_test, y_search, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state)
    print(f"{name}: {len(X_search)} images {X.shape[1:]} searched, {len(X_test)} held out",
          file=sys.stderr)

    space = {"filters": [4, 8, 16], "dense_units": [16, 32, 64],
             "learning_rate": loguniform(1e-3, 3e-2)}
    clf = KerasClassifier(build_cnn, batch_size=64, random_state=args.random_state)
    if args.strategy == "hyperband":
        search = HyperbandSearchCV(clf, space, max_epochs=args.epochs, cv=args.cv,
                                   random_state=args.random_state)
    else:
        search = TPESearchCV(clf.set_params(epochs=args.epochs), space, n_iter=args.n_iter,
                             cv=args.cv, random_state=args.random_state)
    start = time.perf_counter()
    search.fit(X_search, y_search)
    print(f"{args.strategy}: {len(search.cv_results_['params'])} (candidate, budget) rows, "
          f"{time.perf_counter() - start:.1f}s")
    best = {k: getattr(v, "item", lambda v=v: v)() for k, v in search.best_params_.items()}
    print("best parameters:", ", ".join(f"{k}={best[k]:.3g}" if isinstance(best[k], float)
                                        else f"{k}={best[k]}" for k in sorted(best)))
    print(f"best CV accuracy: {search.best_score_:.4f}")
    print(f"held-out accuracy of the refit best model: {search.score(X_test, y_test):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
