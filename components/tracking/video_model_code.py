"""The code of every logged video model (MLflow's "models from code").

MLflow copies this file into the logged model and runs it when a server or
``mlflow.pyfunc.load_model`` loads the model: the model is *built* from code and
the ``model_config`` logged with it (the parts and fusion weights), never
unpickled. ``har predict`` does not even run this file: it reads the model's
``MLmodel`` and weights itself (see
:func:`components.inference.loading.predictor_from_logged_model`).
"""

from mlflow.models import set_model

from components.tracking.video_model import VideoModel

set_model(VideoModel())
