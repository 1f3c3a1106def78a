"""Which GPUs this machine has, found without TensorFlow, and a worker's environment pinned to one.

A search with several worker processes on a GPU machine runs out of GPU
memory with TensorFlow: every process sees every GPU and, by default, takes
nearly all the memory of each one at its first operation (keras #7553,
scikeras #258), and joblib cannot give its workers different environments
(joblib #1064). What works (dask-cuda, Syne Tune's local backend) is one
process per GPU, started with ``CUDA_VISIBLE_DEVICES`` naming its GPU and
memory growth switched on *before* TensorFlow initialises the device. This
module supplies the two pieces: the list of devices, found without importing
TensorFlow in the parent (which would take GPU memory there), and the
environment of the worker pinned to one of them.

The devices, first rule that applies:

1. ``SKKERAS_SEARCH_FAKE_GPUS`` (for tests, on machines without a GPU): a
   count (``"3"`` is devices ``0, 1, 2``; ``"0"`` is none) or a
   comma-separated list of ids (``"0,1,2"``; ``"5,"`` is the one device 5).
2. ``CUDA_VISIBLE_DEVICES``, when set: its ids as CUDA reads them, up to the
   first invalid one (``""`` and ``"-1"`` hide every GPU, as in CUDA).
3. ``nvidia-smi -L``, if it is on ``PATH``: each GPU's UUID, or the UUIDs of
   its MIG instances when it is partitioned. UUIDs rather than indexes
   because ``nvidia-smi`` numbers GPUs in PCI order while CUDA numbers them
   fastest first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``.
4. Otherwise none.
"""

import os
import re
import shutil
import subprocess

from skkeras_search._core.backend import _THREADS_ENV

__all__ = ["FAKE_GPUS_ENV", "visible_gpus", "gpu_worker_env", "parse_nvidia_smi"]

FAKE_GPUS_ENV = "SKKERAS_SEARCH_FAKE_GPUS"
_GROWTH_ENV = "TF_FORCE_GPU_ALLOW_GROWTH"
_NVIDIA_SMI_TIMEOUT = 20  # seconds; a hung driver must not hang the search
_GPU_LINE = re.compile(r"^GPU (\d+):.*?\(UUID: (\S+?)\)\s*$")
_MIG_LINE = re.compile(r"^\s+MIG .*?\(UUID: (\S+?)\)\s*$")


def visible_gpus():
    """The GPUs a search may pin workers to, as ``CUDA_VISIBLE_DEVICES`` ids.

    Found by the rules of the module's text; TensorFlow is not imported.

    Returns
    -------
    ids : tuple of str
        One id per device, in order (an index, a UUID or a fake id); empty
        when there is no GPU.
    """
    fake = os.environ.get(FAKE_GPUS_ENV, "").strip()
    if fake:
        return _fake(fake)
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return _cuda_ids(os.environ["CUDA_VISIBLE_DEVICES"])
    return _from_nvidia_smi()


def _fake(value):
    if value.isdigit():
        return tuple(str(i) for i in range(int(value)))
    return tuple(token.strip() for token in value.split(",") if token.strip())


def _cuda_ids(value):
    """CUDA's reading: devices up to the first invalid entry (a negative index, an empty one)."""
    ids = []
    for token in (t.strip() for t in value.split(",")):
        if not token or re.fullmatch(r"-\d+", token):
            break
        ids.append(token)
    return tuple(ids)


def _from_nvidia_smi():
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        done = subprocess.run([exe, "-L"], capture_output=True, text=True,
                              timeout=_NVIDIA_SMI_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else ()


def parse_nvidia_smi(text):
    """The device ids in the output of ``nvidia-smi -L``.

    Parameters
    ----------
    text : str
        Lines such as ``GPU 0: NVIDIA H200 (UUID: GPU-5c1f...)``, each
        partitioned GPU followed by lines ``  MIG 1g.18gb Device 0: (UUID: MIG-...)``.

    Returns
    -------
    ids : tuple of str
        The UUID of each GPU, or those of its MIG instances in its place.
    """
    gpus = []  # [gpu uuid, [mig uuids]]
    for line in text.splitlines():
        gpu, mig = _GPU_LINE.match(line), _MIG_LINE.match(line)
        if gpu:
            gpus.append([gpu.group(2), []])
        elif mig and gpus:
            gpus[-1][1].append(mig.group(1))
    return tuple(uuid for gpu, migs in gpus for uuid in (migs or [gpu]))


def gpu_worker_env(device, threads):
    """The environment variables of a worker process pinned to one device.

    Give them to the process when it starts (loky's ``env=``): CUDA and
    TensorFlow read them once, when TensorFlow initialises the device.

    Parameters
    ----------
    device : str
        A ``CUDA_VISIBLE_DEVICES`` id from :func:`visible_gpus`.
    threads : int
        The worker's share of the CPU cores, at least 1: the thread cap of
        :mod:`~skkeras_search._core.backend` (``SKKERAS_SEARCH_THREADS``) and
        ``OMP_NUM_THREADS`` for NumPy's BLAS.

    Returns
    -------
    env : dict of str to str
        ``CUDA_VISIBLE_DEVICES`` (the one device), ``TF_FORCE_GPU_ALLOW_GROWTH``
        (``'true'``, unless this process's environment sets it: memory is
        taken as the fits need it, not all at once) and the thread caps.

    Raises
    ------
    ValueError
        If ``device`` is empty or names several devices, or ``threads < 1``.
    """
    device = str(device).strip()
    if not device or "," in device:
        raise ValueError(f"device={device!r} is not one device id. Use one id from "
                         "visible_gpus(), such as '0'.")
    if int(threads) < 1:
        raise ValueError(f"threads={threads!r} leaves the worker no thread. Use threads>=1.")
    return {
        "CUDA_VISIBLE_DEVICES": device,
        _GROWTH_ENV: os.environ.get(_GROWTH_ENV, "true"),
        _THREADS_ENV: str(int(threads)),
        "OMP_NUM_THREADS": str(int(threads)),
    }
