"""Defaults that several entry points share (kept free of heavy imports: the CLI reads them
while building its argument parsers)."""

#: The light-curve encoder of ``astromer classify``, ``evaluate``, ``embed`` and
#: :class:`astromer.AstromerEmbedder` when none is named: the Astromer 1 architecture with the
#: weights pretrained on ATLAS. Its frozen embeddings classified both labelled surveys we measure
#: better than the MACHO-pretrained ``astromer_v1`` weights (the harness's logistic probe on the last
#: block, object-level macro F1 at 20 / 100 / 500 labelled objects per class: EROS-1 59.5 / 69.2 / 72.2
#: against 55.7 / 65.3 / 69.4; Stripe 82 RR Lyrae 80.0 / 89.7 / 93.9 against 75.7 / 82.8 / 87.4;
#: benchmarks/results/preset_probe.md).
LIGHT_CURVE_PRESET = "astromer_v1_atlas"
