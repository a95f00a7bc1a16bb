"""``har`` sub-commands that run a Prefect flow in-process (``har ablate``, ``har claims``).

They sit above the flows they run, so that nothing in ``components/`` imports
``flows/``. Like every ``har`` sub-command they expose ``configure(parser)`` and
``run(args) -> int`` and import nothing heavy (Prefect, torch, MLflow) before ``run``.
"""
