"""Tuning test fixtures (shared with the training tests, see ``training._fixtures``)."""

from training._fixtures import (  # noqa: F401 - fixtures
    mlflow_store,
    mlflow_template,
    ray_session,
    tiny_data,
)
