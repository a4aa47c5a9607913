import sys

from vitlearn.editions.cli import main

sys.exit(main())
