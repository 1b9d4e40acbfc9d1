"""The :class:`Sequential` model, split by job.

* :mod:`.sequential` -- the model: layers, forward and backward, parameters,
  prediction;
* :mod:`.tasks` -- what the output means (multi-class, binary, regression):
  target checks, accuracy, predictions;
* :mod:`.training` -- the epoch loop of :meth:`Sequential.fit` and
  :class:`History`;
* :mod:`.persistence` -- :meth:`Sequential.save` and :func:`load_model`.
"""

from .persistence import ModelFileError, load_model
from .sequential import Sequential
from .training import History

__all__ = ["Sequential", "History", "load_model", "ModelFileError"]
