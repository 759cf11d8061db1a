"""Adult spine and torso anatomy of the digital phantom (moved whole into this package before it is split)."""

from .spine import *  # noqa: F401,F403
from .spine import POSTERIOR_CORTICAL_MM, __all__  # noqa: F401
