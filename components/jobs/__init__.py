"""The jobs (teacher, student, normal, motion) apart from training them: what training
and the code that runs trained models (inference, export, evaluation) share, so that
a video is read, fed and scored the same way by both, and neither side imports the other.

* :mod:`.config`: each job's params section as a frozen dataclass (what a trained
  model's ``model.json`` records and inference rebuilds).
* :mod:`.data`: a job's data, the manifest joined with the shards it reads, checked.
* :mod:`.datasets`: torch datasets over those shards (random training clips,
  augmented by :mod:`.augment`; fixed evaluation clips, cropped by :mod:`.views`),
  normalised by :mod:`.normalisation`.
* :mod:`.tasks`: how each job feeds a batch to its model, and its loss (:mod:`.losses`).
* :mod:`.evaluate`: one evaluation pass, softmax outputs per item.
"""
