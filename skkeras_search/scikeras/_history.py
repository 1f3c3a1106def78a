"""``history_`` keys as scikeras gives them: Keras's full metric names.

Keras logs a metric under the name it was compiled with (``"mae"``); scikeras
users read ``history_["mean_absolute_error"]``. Each key is normalised with
:func:`skkeras_search.scikeras.utils.metric_name`, keeping ``val_`` prefixes;
names Keras does not know (custom metrics, per-output keys such as
``"out1_loss"``) stay as they are.
"""

from skkeras_search.scikeras.utils import metric_name

__all__ = ["history_keys"]


def _full_name(key):
    if key == "loss":
        return key
    try:
        return metric_name(key)
    except (TypeError, ValueError):
        return key


def history_keys(logs):
    """``{normalised key: values}`` of a Keras ``History.history`` dict."""
    out = {}
    for key, values in logs.items():
        prefix, rest = ("val_", key[4:]) if key.startswith("val_") else ("", key)
        out[prefix + _full_name(rest)] = list(values)
    return out
