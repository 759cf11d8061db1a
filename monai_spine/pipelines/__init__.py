"""Routes from input images to the contract's results (``curves.json``, ``curve3d.csv``, ``overlay.png``,
``report.png``): ``infer --dxa`` (:func:`infer_dxa`), ``infer --ap --lateral`` (:func:`infer_biplanar`); the files
every route writes (:func:`write_results`)."""

from .biplanar import infer_biplanar, run_biplanar
from .dxa import infer_dxa, run_dxa
from .results import write_results

__all__ = ["infer_biplanar", "infer_dxa", "run_biplanar", "run_dxa", "write_results"]
