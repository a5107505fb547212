"""How scenario a's probe chooses its regularisation, and whether c could choose its encoder.

Scenario a's head (and the harness's ``probe``) is a class-balanced logistic regression whose
``C`` in {0.001, 0.01, 0.1} is chosen by 3-fold cross-validated macro F1 on the training objects
(:func:`astromer.hybrid.embedding_probe`). At 20 per class that choice is noisy (the folds of 60-80
objects flip between 0.001 and 0.01). This script measures the alternatives on the harness's own
folds and test set, on the pretrained encoder's embeddings and on the encoder adapted to the
survey by reconstruction (scenario c, :meth:`FewShotEvaluation._adapted_encoder`):

- ``C`` by cross-validated macro F1 (the package's choice);
- ``C`` by cross-validated log loss (smoother than F1 on few objects), on the same grid and on a
  wider one (1e-4 .. 1, 9 values);
- a fixed ``C`` (0.01, 0.003): no choice at all;
- the package's choice after a scaler whose scale has a floor (a tenth of the median column
  scale): many embedding statistics vary by ~1e-5 across objects, and standardising blows their
  noise up to the size of every other column;
- c choosing its encoder: the pretrained or the adapted one, whichever probe has the higher
  cross-validated macro F1 on the training objects (c then never uses an encoder that its own
  training data rank lower);
- c reading both encoders: one probe (the package's) on the pretrained and the adapted
  embeddings side by side.

Object-level macro F1 (%) on the test objects, mean ± std (ddof 1) over the 3 folds. Writes
``benchmarks/results/probe_choice_DATA.md``.

    ASTROMER_MIRROR=../shared/weights/astromer OMP_NUM_THREADS=1 python benchmarks/probe_choice.py --data eros1
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FewShotTables, fewshot_parser, mean_std_cells  # noqa: E402

WIDE = tuple(float(c) for c in np.logspace(-4, 0, 9))


class _Quiet:
    def update(self, n=1):
        pass

    def set_postfix_str(self, text):
        pass


def _probe(scoring, cs):
    from sklearn.model_selection import GridSearchCV

    from astromer.hybrid import embedding_probe

    def make(y):
        probe = embedding_probe(0, y=y, cs=cs)
        return probe.set_params(scoring=scoring) if isinstance(probe, GridSearchCV) else probe
    return make


def _fixed(c):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return lambda y: make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=3000))


def _floored():
    from sklearn.preprocessing import StandardScaler

    from astromer.hybrid import embedding_probe

    class FlooredScaler(StandardScaler):
        """StandardScaler whose scale is at least a tenth of the median column scale."""

        def fit(self, X, y=None, sample_weight=None):
            super().fit(X, y, sample_weight)
            self.scale_ = np.maximum(self.scale_, 0.1 * np.median(self.scale_))
            return self

    def make(y):
        probe = embedding_probe(0, y=y)
        pipeline = getattr(probe, "estimator", probe)
        pipeline.steps[0] = ("standardscaler", FlooredScaler())
        return probe
    return make


class EncoderChoice:
    """Scenario c choosing its encoder: ``X`` is ``[pretrained embeddings, adapted embeddings]``
    (``d`` columns each); a probe (C by macro F1) on each; the one with the higher cross-validated
    macro F1 on the training objects predicts (``chosen_``: "pretrained" or "adapted")."""

    def __init__(self, d):
        self.d = d

    def fit(self, X, y):
        from astromer.hybrid import embedding_probe

        self.probes_ = [embedding_probe(0, y=y).fit(X[:, k * self.d:(k + 1) * self.d], y) for k in (0, 1)]
        scores = [getattr(p, "best_score_", -np.inf) for p in self.probes_]
        self.k_ = int(scores[1] > scores[0])
        self.chosen_ = ("pretrained", "adapted")[self.k_]
        return self

    def predict(self, X):
        return self.probes_[self.k_].predict(X[:, self.k_ * self.d:(self.k_ + 1) * self.d])


def main():
    args = fewshot_parser(__doc__.split("\n\n")[0], preset=True).parse_args()
    tables = FewShotTables.from_args(args, n_jobs=1)
    harness = tables.harness

    ids, E, _ = harness.embedding_table(tables.encoder)
    adapted, recon = harness._adapted_encoder(_Quiet())
    ids_c, E_c, _ = harness.embedding_table(adapted, "embeddings_c")
    if list(ids_c) != list(ids):
        raise RuntimeError("the adapted encoder's objects differ from the pretrained encoder's")
    lined = tables.line_up(ids, {"E": E, "E_c": E_c})
    E, E_c, test = lined["E"], lined["E_c"], tables.test
    both = np.hstack([E, E_c])

    def score(make, X):
        chosen = {}

        def seen(shots, model):
            what = getattr(model, "chosen_", None) or getattr(model, "best_params_", {}).get("logisticregression__C")
            if what is not None:
                chosen.setdefault(shots, []).append(what)
        cells = mean_std_cells(tables.score(make, X, threads=1, seen=seen))
        text = "; ".join(f"{s}: " + ", ".join(f"{c:g}" if isinstance(c, float) else str(c) for c in chosen[s])
                         for s in sorted(chosen))
        return cells, text

    rows = []
    for encoder_name, X in (("pretrained (a)", E), ("adapted (c)", E_c)):
        rows += [(encoder_name, "C by cross-validated macro F1 (the package's)", _probe("f1_macro", (1e-3, 1e-2, 1e-1)), X),
                 (encoder_name, "C by cross-validated log loss", _probe("neg_log_loss", (1e-3, 1e-2, 1e-1)), X),
                 (encoder_name, "C by cross-validated log loss, 1e-4 .. 1", _probe("neg_log_loss", WIDE), X),
                 (encoder_name, "fixed C = 0.01", _fixed(0.01), X),
                 (encoder_name, "fixed C = 0.003", _fixed(0.003), X),
                 (encoder_name, "C by cross-validated macro F1, scale floored at 0.1 x the median", _floored(), X)]
    rows.append(("chosen per split", "c's encoder by cross-validated macro F1 on the training objects",
                 lambda t: EncoderChoice(E.shape[1]), both))
    rows.append(("both side by side", "one probe (the package's) on the pretrained and the adapted embeddings",
                 _probe("f1_macro", (1e-3, 1e-2, 1e-1)), both))
    lines = []
    for encoder_name, name, make, X in rows:
        cells, chosen = score(make, X)
        print(encoder_name, name, cells, chosen, flush=True)
        lines.append(f"| {encoder_name} | {name} | " + " | ".join(cells) + f" | {chosen or '-'} |")
    tables.write_report(
        f"probe_choice_{args.data}", f"{args.data}: choosing the probe's C, and c's encoder",
        f"Object-level macro F1 (%) on the {len(test)} test objects, mean ± std (ddof 1) over the harness's "
        f"3 folds; each split's training objects only. Preset {args.preset}; the adapted encoder: "
        f"{recon['reconstruction_epochs']} reconstruction epochs on the training pool, held-out masked R² "
        f"{recon['reconstruction_val_r2_start']:.3f} at the start, {recon['reconstruction_val_r2_best']:.3f} kept.",
        ["encoder", "probe"], "chosen per fold", lines)


if __name__ == "__main__":
    main()
