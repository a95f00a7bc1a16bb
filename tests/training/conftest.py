"""Training test fixtures (see ``_fixtures``)."""

from training._fixtures import (  # noqa: F401 - fixtures
    mlflow_store,
    mlflow_template,
    ray_session,
    tiny_data,
)
