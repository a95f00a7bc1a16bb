"""Prefect flows that run the DVC stages of the pipeline as tasks."""
