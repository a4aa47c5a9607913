"""(stub: being written)"""

def crop_to_multiple(*a, **k):
    raise NotImplementedError


def grid_shape(*a, **k):
    raise NotImplementedError


def pad_to_multiple(*a, **k):
    raise NotImplementedError


def patchify(*a, **k):
    raise NotImplementedError


def unpatchify(*a, **k):
    raise NotImplementedError


