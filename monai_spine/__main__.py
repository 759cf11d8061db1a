import sys

from monai_spine.cli import main

sys.exit(main())
