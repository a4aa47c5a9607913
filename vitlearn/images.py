"""(stub: being written)"""

def list_images(*a, **k):
    raise NotImplementedError


def load_image(*a, **k):
    raise NotImplementedError


