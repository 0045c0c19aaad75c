import sys

from cqbook.engine import fix_process_environment

fix_process_environment()  # before anything imports numpy; may re-run this command once

from cqbook.cli import main

sys.exit(main())
