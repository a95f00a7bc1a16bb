"""Top-k and mean-class accuracy: the semantics the reported tables rely on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.metrics import confusion_matrix, mean_class_accuracy, topk_accuracy


def test_mean_class_accuracy_averages_only_classes_present_in_the_labels() -> None:
    labels = np.array([0, 0, 1, 1])
    predicted = np.array([0, 2, 1, 1])  # class 2 is predicted once but never the truth
    matrix = confusion_matrix(predicted, labels, 3)
    assert mean_class_accuracy(matrix) == pytest.approx((0.5 + 1.0) / 2)


def test_mean_class_accuracy_of_no_labels_is_nan() -> None:
    assert math.isnan(mean_class_accuracy(np.zeros((3, 3), np.int64)))


def test_topk_counts_the_true_class_among_the_k_best() -> None:
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    labels = np.array([2, 1, 0])
    assert topk_accuracy(probs, labels, 1) == 0.0
    assert topk_accuracy(probs, labels, 2) == pytest.approx(1 / 3)
    assert topk_accuracy(probs, labels, 5) == 1.0  # k larger than the classes: all of them


def test_topk_breaks_ties_by_class_index() -> None:
    # A collapsed model scores every class alike: the lowest k class indices are its top k.
    probs = np.full((6, 10), 0.1)
    labels = np.arange(6)
    assert topk_accuracy(probs, labels, 1) == pytest.approx(1 / 6)
    assert topk_accuracy(probs, labels, 5) == pytest.approx(5 / 6)
