"""A batch mask worker whose process dies on the DXA whose path holds ``MONAI_SPINE_TEST_MASK_DIES_ON``, as one
killed for memory would (``tests/test_batch.py``); imported by the spawned mask workers."""

from __future__ import annotations

import os

from monai_spine.pipelines import batch


def mask_or_die(item, pred, path, device):
    if os.environ["MONAI_SPINE_TEST_MASK_DIES_ON"] in path:
        os._exit(9)
    return batch._mask_and_crop(item, pred, path, device)
