"""(stub) python -m vitlearn release-student"""
HELP = "write the student edition of every notebook (solution cells removed)"


def add_arguments(p):
    pass


def run(args):
    raise NotImplementedError
