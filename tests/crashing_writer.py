"""A batch writer whose process dies on the study named by ``MONAI_SPINE_TEST_WRITER_DIES_ON``, as one killed for
memory would (``tests/test_batch.py``); imported by the spawned writer processes."""

from __future__ import annotations

import os

from monai_spine.pipelines import batch


def finish_or_die(study, out, dxa, settings):
    if study.id == os.environ["MONAI_SPINE_TEST_WRITER_DIES_ON"]:
        os._exit(9)
    return batch._finish_study(study, out, dxa, settings)
