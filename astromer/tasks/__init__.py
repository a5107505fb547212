"""Workflows every entry point shares (the Python API, the CLI, the few-shot harness, quickstart).

- :mod:`~astromer.tasks.inputs`: the one reader of light-curve inputs (a records
  folder, a folder with ``lightcurves.csv.gz`` + ``labels.csv``, a table file
  with a labels table), ids kept as text;
- :mod:`~astromer.tasks.splits`: the one seeded, stratified test / validation
  hold-out and the per-class shot draw;
- :mod:`~astromer.tasks.pretrain`: masked-reconstruction pretraining from tables
  or records with a progress bar and a wall-clock budget;
- :mod:`~astromer.tasks.encoders`: loading an Astromer encoder, copying one;
- :mod:`~astromer.tasks.finetune`: the one implementation of scenarios a, b and c
  (:func:`astromer.finetune`), using :mod:`~astromer.tasks.adapt` (scenario c's
  reconstruction on the target survey) and :mod:`~astromer.tasks.selection` (keeping the
  best epoch on held-out data, the start included);
- :mod:`~astromer.tasks.window_pooling`: attention pooling over the windows of long curves.

The few-shot harness (:mod:`astromer.evaluation`) calls these.
"""
