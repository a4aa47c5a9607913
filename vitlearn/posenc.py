"""(stub: being written)"""

class FactorizedPosEmbed:
    def __init__(self, *a, **k):
        raise NotImplementedError


class LearnedPosEmbed:
    def __init__(self, *a, **k):
        raise NotImplementedError


class RelativePositionBias:
    def __init__(self, *a, **k):
        raise NotImplementedError


class RotaryEmbedding2D:
    def __init__(self, *a, **k):
        raise NotImplementedError


def position_similarity(*a, **k):
    raise NotImplementedError


def sincos_1d_pos_embed(*a, **k):
    raise NotImplementedError


def sincos_2d_pos_embed(*a, **k):
    raise NotImplementedError


