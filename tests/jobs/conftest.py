"""Fixtures of the jobs' tests: the training tests' tiny dataset (``tiny_data``)."""

from training._fixtures import tiny_data  # noqa: F401 - a fixture
