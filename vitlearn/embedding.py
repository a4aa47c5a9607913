"""(stub: being written)"""

class PatchEmbed:
    def __init__(self, *a, **k):
        raise NotImplementedError


def conv_to_linear_weight(*a, **k):
    raise NotImplementedError


def linear_to_conv_weight(*a, **k):
    raise NotImplementedError


