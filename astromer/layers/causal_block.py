"""nanoGPT's pre-LN transformer block, as used by AstroPT."""

import keras

from astromer.layers.causal_attention import CausalSelfAttention
from astromer.layers.layer_norm import LayerNorm
from astromer.layers.patch_tokenizers import gelu_tanh


@keras.saving.register_keras_serializable(package="astromer")
class CausalBlock(keras.layers.Layer):
    """One causal pre-LN block with nanoGPT's numerics::

        x = x + Attention(LN1(x))                       # causal, see CausalSelfAttention
        x = x + Dropout(c_proj(gelu_tanh(c_fc(LN2(x)))))  # MLP width 4 d

    LayerNorms have epsilon 1e-5 and no bias unless ``use_bias`` (the
    original's ``LayerNorm(bias=False)``); Dense layers likewise. Kernels are
    initialised N(0, ``init_std``), the two residual projections N(0,
    ``output_init_std``) (GPT-2: ``0.02 / sqrt(2 n_layer)``).
    """

    def __init__(
        self, num_heads, dim, dropout=0.0, use_bias=False, layer_norm_epsilon=1e-5, init_std=0.02,
        output_init_std=None, **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.dim = int(dim)
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.init_std = float(init_std)
        self.output_init_std = None if output_init_std is None else float(output_init_std)
        out_std = self.init_std if self.output_init_std is None else self.output_init_std
        kw = {"dtype": self.dtype_policy}
        norm = {"epsilon": self.layer_norm_epsilon, "center": self.use_bias, **kw}
        self.ln_1 = LayerNorm(name="ln_1", **norm)
        self.ln_2 = LayerNorm(name="ln_2", **norm)
        self.attn = CausalSelfAttention(
            num_heads, dim, dropout=dropout, use_bias=use_bias, init_std=init_std,
            output_init_std=self.output_init_std, name="attn", **kw,
        )
        init = keras.initializers.RandomNormal
        self.c_fc = keras.layers.Dense(
            4 * self.dim, use_bias=self.use_bias, kernel_initializer=init(stddev=self.init_std), name="c_fc", **kw
        )
        self.c_proj = keras.layers.Dense(
            self.dim, use_bias=self.use_bias, kernel_initializer=init(stddev=out_std), name="c_proj", **kw
        )
        self.mlp_dropout = keras.layers.Dropout(self.dropout, name="mlp_dropout", dtype=self.dtype_policy)

    def build(self, input_shape):
        shape = (None, None, self.dim)
        for layer, s in (
            (self.ln_1, shape), (self.attn, shape), (self.ln_2, shape), (self.c_fc, shape),
            (self.c_proj, (None, None, 4 * self.dim)),
        ):
            if not layer.built:
                layer.build(s)
        self.built = True

    def call(self, x, training=None):
        x = x + self.attn(self.ln_1(x), training=training)
        h = self.c_proj(gelu_tanh(self.c_fc(self.ln_2(x))))
        return x + self.mlp_dropout(h, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "dim": self.dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "init_std": self.init_std,
                "output_init_std": self.output_init_std,
            }
        )
        return config
