# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest

from sklearn_relaxpen.datasets import make_noisy_labels


@pytest.mark.parametrize("flip_rate", [0.0, 0.3, 1.0])
def test_make_noisy_labels(flip_rate):
    y = np.repeat(np.array(["a", "b", "c", "d"]), 25)
    y_orig = y.copy()
    noisy, flipped = make_noisy_labels(y, flip_rate, random_state=0)
    np.testing.assert_array_equal(y, y_orig)
    assert noisy.dtype == y.dtype
    assert flipped.sum() == round(flip_rate * 100)
    np.testing.assert_array_equal(noisy != y, flipped)
    assert set(noisy) <= set(y)
    again, flipped2 = make_noisy_labels(y, flip_rate, random_state=0)
    np.testing.assert_array_equal(noisy, again)
    np.testing.assert_array_equal(flipped, flipped2)


def test_make_noisy_labels_uniform_over_other_classes():
    y = np.zeros(30_000, dtype=int)
    y[10_000:20_000] = 1
    y[20_000:] = 2
    noisy, flipped = make_noisy_labels(y, 1.0, random_state=0)
    counts = np.bincount(noisy[y == 0], minlength=3)
    assert counts[0] == 0
    assert abs(counts[1] / 10_000 - 0.5) < 0.03


def test_make_noisy_labels_bad_input():
    with pytest.raises(ValueError, match="flip_rate"):
        make_noisy_labels([0, 1, 0], 1.5)
    with pytest.raises(ValueError, match="two classes"):
        make_noisy_labels([1, 1, 1], 0.5)
    with pytest.raises(ValueError, match="Unknown label type"):
        make_noisy_labels([0.5, 1.2, 3.3], 0.5)


def test_make_noisy_labels_pair():
    y = np.repeat(np.array(["a", "b", "c"]), 20)
    noisy, flipped = make_noisy_labels(y, 0.5, noise="pair", random_state=0)
    assert flipped.sum() == 30
    np.testing.assert_array_equal(noisy != y, flipped)
    nxt = {"a": "b", "b": "c", "c": "a"}
    assert all(noisy[i] == nxt[y[i]] for i in np.flatnonzero(flipped))
    # the flipped rows are the same draw as for uniform noise
    _, flipped_uniform = make_noisy_labels(y, 0.5, random_state=0)
    np.testing.assert_array_equal(flipped, flipped_uniform)


def test_make_noisy_labels_bad_noise():
    with pytest.raises(ValueError, match="noise"):
        make_noisy_labels([0, 1, 0], 0.5, noise="asymmetric")
