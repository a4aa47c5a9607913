"""(stub: being written)"""

def resample_patch_embed(*a, **k):
    raise NotImplementedError


def resample_pos_embed(*a, **k):
    raise NotImplementedError


