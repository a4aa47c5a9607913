"""Small models trained once by this repository's own scripts and shipped inside the package.

- :mod:`~vitlearn.trained.course_vit`: the course ViT, a 14 x 14 grid trained on the relation
  scenes (:func:`load_course_vit`), its record, and :func:`train_course_vit` to make it again.
- :mod:`~vitlearn.trained.anyres_vits`: notebook 09's five tiny ViTs, one per position scheme
  (:func:`load_anyres_vits`), the record of their accuracy at other sizes for several seeds
  (:func:`load_anyres_record`), and :func:`train_anyres_vits` to make them again.
- :mod:`~vitlearn.trained.stripes_vit`: the stripes ViT, a 6 x 6 grid trained at 24 px on the
  striped scenes to be fine-tuned at 48 px (:func:`load_stripes_vit`), the record of its
  experiment, and :func:`train_stripes_vit` to run it again.

The weights and records live in ``vitlearn/trained/weights/``; each is read with
``torch.load(weights_only=True)``, nothing is downloaded.
"""

from __future__ import annotations

from .anyres_vits import load_anyres_record, load_anyres_vits, train_anyres_vits
from .course_vit import load_course_vit, load_course_vit_record, train_course_vit
from .stripes_vit import load_stripes_vit, load_stripes_vit_record, train_stripes_vit

__all__ = [
    "load_anyres_record",
    "load_anyres_vits",
    "load_course_vit",
    "load_course_vit_record",
    "load_stripes_vit",
    "load_stripes_vit_record",
    "train_anyres_vits",
    "train_course_vit",
    "train_stripes_vit",
]
