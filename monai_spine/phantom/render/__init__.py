"""Rendering a phantom, one module per modality: :mod:`.ct`, :mod:`.dxa`, :mod:`.mri` and :mod:`.radiograph` (AP
and lateral). Each renders from the rasterised phantom (material volume fractions on its grid) and one generator;
``skip_*_draws`` advance the generator past a modality that is not rendered, so the others stay the same."""
