"""Small models trained once by this repository's own scripts and shipped inside the package.

- :mod:`~vitlearn.trained.course_vit`: the course ViT, a 14 x 14 grid trained on the relation
  scenes (:func:`load_course_vit`), its record, and :func:`train_course_vit` to make it again.

The weights and records live in ``vitlearn/trained/weights/``; each is read with
``torch.load(weights_only=True)``, nothing is downloaded.
"""

from __future__ import annotations

from .course_vit import load_course_vit, load_course_vit_record, train_course_vit

__all__ = ["load_course_vit", "load_course_vit_record", "train_course_vit"]
