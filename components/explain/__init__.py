"""Explanations: where a trained model looks when it labels a video.

* :func:`gradcam`: Grad-CAM of a 2D stream CNN (the normal and motion streams).
* :func:`lift_net_maps`: LIFT-Net's cross-attention and Fourier-block maps per frame
  (the project's reading of the paper's Figs. 5 and 6).
* :func:`explain_video`: ``har explain``'s picture of one video.
"""

from components.explain.gradcam import default_layer, gradcam
from components.explain.inputs import load_parts
from components.explain.lift_maps import lift_net_maps
from components.explain.video import Explanation, explain_video

__all__ = ["Explanation", "default_layer", "explain_video", "gradcam", "lift_net_maps",
           "load_parts"]
