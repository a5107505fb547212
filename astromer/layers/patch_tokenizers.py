"""AstroPT's patch tokenisers: patch vectors to the model width (encoder) and back (decoder)."""

import keras
from keras import ops

TOKENIZERS = ("aim", "affine", "relu_mlp")


def gelu_tanh(x):
    """GPT-2's GELU, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` (nanoGPT's ``new_gelu``)."""
    return ops.gelu(x, approximate=True)


def _check(style):
    if style not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {style!r}.")


class _PatchMLP(keras.layers.Layer):
    """A stack of Dense layers with activations between them (shared by encoder and decoder)."""

    def __init__(self, style, embed_dim, use_bias=False, init_std=0.02, output_init_std=None, **kwargs):
        super().__init__(**kwargs)
        _check(style)
        self.style = style
        self.embed_dim = int(embed_dim)
        self.use_bias = bool(use_bias)
        self.init_std = float(init_std)
        self.output_init_std = None if output_init_std is None else float(output_init_std)
        self.denses = []
        self.activations = []

    def _add(self, units, use_bias, activation, std, name):
        self.denses.append(
            keras.layers.Dense(
                units,
                use_bias=use_bias,
                kernel_initializer=keras.initializers.RandomNormal(stddev=std),
                name=name,
                dtype=self.dtype_policy,
            )
        )
        self.activations.append(activation)

    def build(self, input_shape):
        width = input_shape[-1]
        for dense in self.denses:
            if not dense.built:
                dense.build((None, None, width))
            width = dense.units
        self.built = True

    def call(self, x):
        for dense, activation in zip(self.denses, self.activations):
            x = dense(x)
            if activation == "gelu_tanh":
                x = gelu_tanh(x)
            elif activation == "relu":
                x = ops.relu(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.denses[-1].units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "style": self.style,
                "embed_dim": self.embed_dim,
                "use_bias": self.use_bias,
                "init_std": self.init_std,
                "output_init_std": self.output_init_std,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="astromer")
class PatchEncoder(_PatchMLP):
    """Patch vectors ``(..., P)`` to token embeddings ``(..., embed_dim)``.

    ``style``:

    - ``"aim"`` (astroPT 2 default): ``Dense(4 d) -> tanh-GELU -> Dense(d)``,
      biases only with ``use_bias`` (the originals have none);
    - ``"affine"``: one ``Dense(d)``;
    - ``"relu_mlp"`` (astroPT 1): ``Dense(d) -> ReLU -> Dense(d) -> ReLU``,
      always with biases.

    Kernels are initialised N(0, ``init_std``); the last "aim" projection
    uses ``output_init_std`` (GPT-2's scaled residual init in the original).
    """

    def __init__(self, style="aim", embed_dim=768, use_bias=False, init_std=0.02, output_init_std=None, **kwargs):
        super().__init__(style, embed_dim, use_bias, init_std, output_init_std, **kwargs)
        d, std = self.embed_dim, self.init_std
        out_std = std if self.output_init_std is None else self.output_init_std
        if style == "aim":
            self._add(4 * d, self.use_bias, "gelu_tanh", std, "c_fc")
            self._add(d, self.use_bias, None, out_std, "c_proj")
        elif style == "affine":
            self._add(d, self.use_bias, None, std, "c_fc")
        else:
            self._add(d, True, "relu", std, "dense_0")
            self._add(d, True, "relu", std, "dense_1")


@keras.saving.register_keras_serializable(package="astromer")
class PatchDecoder(_PatchMLP):
    """Token embeddings ``(..., embed_dim)`` to patch vectors ``(..., patch_dim)`` (the "lm_head").

    ``style``: ``"aim"``: ``Dense(4 d) -> tanh-GELU -> Dense(P)`` (no biases
    unless ``use_bias``); ``"affine"``: ``Dense(P)``; ``"relu_mlp"``
    (astroPT 1): ``Dense(2 d) -> ReLU -> Dense(d) -> ReLU -> Dense(P)`` with biases.
    """

    def __init__(
        self, style="aim", embed_dim=768, patch_dim=768, use_bias=False, init_std=0.02, output_init_std=None,
        **kwargs,
    ):
        super().__init__(style, embed_dim, use_bias, init_std, output_init_std, **kwargs)
        self.patch_dim = int(patch_dim)
        d, p, std = self.embed_dim, self.patch_dim, self.init_std
        out_std = std if self.output_init_std is None else self.output_init_std
        if style == "aim":
            self._add(4 * d, self.use_bias, "gelu_tanh", std, "c_fc")
            self._add(p, self.use_bias, None, out_std, "c_proj")
        elif style == "affine":
            self._add(p, self.use_bias, None, std, "c_fc")
        else:
            self._add(2 * d, True, "relu", std, "dense_0")
            self._add(d, True, "relu", std, "dense_1")
            self._add(p, True, None, std, "dense_2")

    def get_config(self):
        config = super().get_config()
        config["patch_dim"] = self.patch_dim
        return config
