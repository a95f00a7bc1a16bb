"""har-pipeline: human action recognition in any light.

Subpackages, in the direction imports may point (lower never imports higher):

* ``data``, ``representations``, ``models``: plain library code (no Ray, MLflow,
  Prefect or DVC), usable from a notebook.
* ``training``, ``tuning``, ``evaluation``: Ray Train / Ray Tune jobs and metrics.
* ``tracking``: the only package that talks to MLflow.
* ``stages``: one entry point per DVC stage, behind the ``har`` command.
"""

__version__ = "0.1.0"
