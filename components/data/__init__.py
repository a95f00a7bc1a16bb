"""Dataset access: split-file parsers (``components.data.formats``) and video input.

Nothing here imports Ray, MLflow, Prefect or DVC; only ``components/data/video/``
imports ``av``.
"""
