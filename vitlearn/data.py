"""(stub: being written)"""

def make_position_task(*a, **k):
    raise NotImplementedError


def render_scenes(*a, **k):
    raise NotImplementedError


