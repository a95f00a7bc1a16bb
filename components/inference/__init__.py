"""Running trained models on videos: the code evaluation, ``har predict`` and the
registered pyfunc models share, so a video is represented and scored exactly as
training evaluated it.

* :mod:`.trained`: a trained model folder (``models/<job>``) back as a module
  and the job config it was trained with.
* :mod:`.records`: representation records in memory, computed from a video file
  with the parameters of the shards the model was trained on.
* :mod:`.scoring`: video-level class probabilities (mean softmax over a video's
  clips or items, the project's choice) and late fusion.
* :mod:`.predictor`: video files in, fused probabilities out (one model, or the
  two streams of the MEI network): what ``har predict`` and the registered pyfunc
  models run.
* :mod:`.loading`: a predictor from a local model folder (trained, fused, or a
  logged pyfunc folder), without MLflow.
* :mod:`.onnx_module`: a part run on its ONNX export (onnxruntime).
* :mod:`.windows`: a predictor on the windows of a live frame stream (window
  length, decode sizes, the window classifier that :mod:`.streaming` runs).
"""

from components.inference.predictor import VideoPredictor
from components.inference.records import MemoryRecords, represent_video_file
from components.inference.scoring import (
    VideoScores,
    fuse_probabilities,
    score_records,
    score_shards,
    top_k,
)
from components.inference.trained import TrainedModel, load_trained

__all__ = [
    "MemoryRecords",
    "TrainedModel",
    "VideoPredictor",
    "VideoScores",
    "fuse_probabilities",
    "load_trained",
    "represent_video_file",
    "score_records",
    "score_shards",
    "top_k",
]
