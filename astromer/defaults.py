"""Defaults that several entry points share (kept free of heavy imports: the CLI reads them
while building its argument parsers)."""

#: The light-curve encoder of ``astromer classify``, ``evaluate``, ``embed`` and
#: :class:`astromer.AstromerEmbedder` when none is named: the Astromer 1 architecture with the
#: weights pretrained on ATLAS. Its frozen embeddings classified both labelled surveys we measure
#: better than the MACHO-pretrained ``astromer_v1`` weights (logistic probe, object-level macro F1 at
#: 20 / 100 labelled objects per class: EROS-1 59.5 / 69.2 against 55.7 / 65.3; Stripe 82 RR Lyrae
#: 80.0 / 89.7 against 75.7 / 82.8; benchmarks/results/eros1_fewshot and s82_rrlyrae_fewshot).
LIGHT_CURVE_PRESET = "astromer_v1_atlas"
