"""Data sets for `filatherm train`: scikit-learn's bundled digits, or the user's own .npz file.

`training.data: digits` (the default) is scikit-learn's 8x8 digits (1797 images, shipped with
scikit-learn: nothing is downloaded), pixels / 16, one fixed stratified split.

`training.data: path/to/set.npz` reads (numpy.load, no pickles):

- `x`: samples x features, or samples x height x width (e.g. MNIST's 28 x 28), any real
  numbers; flattened to one vector per sample and divided by max |x| so that inputs are in
  [-1, 1] (the crossbar's pulse probabilities are proportional to them);
- `y`: one integer label per sample, 0 .. classes - 1, every class present;
- `split` (optional): one entry per sample, 0 (train) or 1 (test). Without it, a stratified
  split holds out `training.test_fraction` (fixed seed, the same in every run).

Anything else (a missing key, NaN, labels that are not integers, too few samples in a class)
is an InputError naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver.errors import InputError

SPLIT_SEED = 0  # the same train/test split in every run


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray  # (samples, features), in [-1, 1]
    y_train: np.ndarray  # (samples,) int
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    def fingerprint(self) -> str:
        """A short hash of the arrays (a checkpoint belongs to one data set)."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]


def load_dataset(data: str, test_fraction: float) -> Dataset:
    """`digits` or an .npz path (see the module docstring)."""
    if data == "digits":
        return load_digits_split(test_fraction)
    return load_npz(Path(data), test_fraction)


def load_digits_split(test_fraction: float) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, no download), pixels scaled to [0, 1],
    one fixed stratified split for every run."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return _split("digits", digits.data / 16.0, digits.target, test_fraction)


def load_npz(path: Path, test_fraction: float) -> Dataset:
    where = f"training.data {path}"
    if not path.is_file():
        raise InputError(f"{where}: {'not a file' if path.exists() else 'no such file'}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"{where}: not a readable .npz of numeric arrays ({_reason(err)})") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise InputError(f"{where}: no array {key!r} (found: {', '.join(sorted(arrays)) or 'none'})")
    x, y = arrays["x"], arrays["y"]
    if x.dtype.kind not in "biuf" or x.ndim not in (2, 3) or x.shape[0] == 0 or x[0].size == 0:
        raise InputError(f"{where}: x must be a non-empty numeric array of samples x features or "
                         f"samples x height x width (got {x.dtype} {x.shape})")
    x = x.reshape(x.shape[0], -1).astype(float)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{where}: x has NaN or infinite entries")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise InputError(f"{where}: y must have one label per sample ({x.shape[0]}), got shape {y.shape}")
    if y.dtype.kind not in "biuf" or not np.all(np.isfinite(y)) or np.any(y != np.round(y)) or np.any(y < 0):
        raise InputError(f"{where}: y must hold integer labels 0, 1, 2, ...")
    y = y.astype(int)
    classes = int(y.max()) + 1
    missing = sorted(set(range(classes)) - set(np.unique(y).tolist()))
    if classes < 2 or missing:
        raise InputError(f"{where}: labels must be 0 .. classes-1 with at least 2 classes, each present "
                         f"(missing: {missing[:5] if missing else 'a second class'})")
    scale = np.abs(x).max()
    x = x / scale if scale > 0 else x
    name = path.stem
    if "split" not in arrays:
        return _split(name, x, y, test_fraction, where)
    split = arrays["split"]
    if split.shape != y.shape or split.dtype.kind not in "biuf" or not np.all(np.isin(split, (0, 1))):
        raise InputError(f"{where}: split must hold 0 (train) or 1 (test) for each of the {y.shape[0]} samples")
    test = split.astype(bool)
    if test.all() or not test.any():
        raise InputError(f"{where}: split leaves no {'training' if test.all() else 'test'} samples")
    return Dataset(name, x[~test], y[~test], x[test], y[test], classes)


def _split(name: str, x: np.ndarray, y: np.ndarray, test_fraction: float, where: str = "") -> Dataset:
    from sklearn.model_selection import train_test_split

    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=test_fraction, random_state=SPLIT_SEED, stratify=y)
    except ValueError as err:
        raise InputError(f"{where or name}: cannot hold out training.test_fraction = {test_fraction:g} "
                         f"stratified ({err})") from None
    return Dataset(name, x_train, y_train, x_test, y_test, int(y.max()) + 1)


def _reason(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text if len(text) <= 80 else text[:77] + "..."
