"""Interactive explorers (core ipywidgets, 7.7 and 8.x). See ``_base.Explorer`` for the pattern."""

from ._base import Explorer
from .anyres import AnyResolutionExplorer
from .embedding import ReconstructionExplorer
from .flexi import PatchSizeExplorer
from .patches import PatchExplorer
from .posenc import FrequencyExplorer, JigsawExplorer, SimilarityExplorer
from .resample import ResampleExplorer

__all__ = [
    "AnyResolutionExplorer",
    "Explorer",
    "FrequencyExplorer",
    "JigsawExplorer",
    "PatchExplorer",
    "PatchSizeExplorer",
    "ReconstructionExplorer",
    "ResampleExplorer",
    "SimilarityExplorer",
]
