"""(stub) python -m vitlearn resample-checkpoint"""
HELP = "resample the position table of a ViT checkpoint (timm or Hugging Face) to a new grid"


def add_arguments(p):
    pass


def run(args):
    raise NotImplementedError
