import sys

from cqbook.cli import main

sys.exit(main())
