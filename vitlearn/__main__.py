import sys

from vitlearn.cli import main

sys.exit(main())
