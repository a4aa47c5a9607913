"""Notebook 09's experiment at several seeds: ``python benchmarks/anyres_seeds.py --seeds 0 1 2``.

The same as ``python -m vitlearn train-anyres-vits --seeds 0 1 2 --out anyres_vits``
(:func:`vitlearn.trained.anyres_vits.train_anyres_vits`): trains the five position schemes of
:data:`vitlearn.anyres.POSITION_SCHEMES` once per seed (notebook 05's recipe, one thread), measures
each at every size of :data:`vitlearn.anyres.TEST_SIZES`, and prints per seed the accuracy at every
test size and the mean away from the training size. About a minute of CPU per seed. The shipped
record (``vitlearn/trained/weights/anyres_vits.json``) covers seeds 0 to 4.
"""

from __future__ import annotations

import sys

from vitlearn.editions.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-anyres-vits", *sys.argv[1:]]))
