"""nanoGPT's causal multi-head self-attention (one fused q/k/v projection)."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="astromer")
class CausalSelfAttention(keras.layers.Layer):
    """Causal self-attention as nanoGPT/astroPT: token ``t`` attends to tokens ``0..t``.

    ``c_attn = Dense(3 d)`` gives q, k, v in that order; head ``h`` is the
    contiguous slice ``[h * d/H, (h + 1) * d/H)`` of each. Logits are
    ``q.k / sqrt(d/H)``, future keys get weight exactly 0, then softmax,
    dropout on the weights, the weighted values and ``c_proj = Dense(d)``
    with dropout. Biases only with ``use_bias`` (astroPT has none).
    """

    def __init__(self, num_heads, dim, dropout=0.0, use_bias=False, init_std=0.02, output_init_std=None, **kwargs):
        super().__init__(**kwargs)
        if dim % num_heads:
            raise ValueError(f"The width {dim} is not divisible by num_heads={num_heads}.")
        self.num_heads = int(num_heads)
        self.dim = int(dim)
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.init_std = float(init_std)
        self.output_init_std = None if output_init_std is None else float(output_init_std)
        out_std = self.init_std if self.output_init_std is None else self.output_init_std
        kw = {"use_bias": self.use_bias, "dtype": self.dtype_policy}
        self.c_attn = keras.layers.Dense(
            3 * self.dim, kernel_initializer=keras.initializers.RandomNormal(stddev=self.init_std),
            name="c_attn", **kw,
        )
        self.c_proj = keras.layers.Dense(
            self.dim, kernel_initializer=keras.initializers.RandomNormal(stddev=out_std), name="c_proj", **kw,
        )
        self.attn_dropout = keras.layers.Dropout(self.dropout, name="attn_dropout", dtype=self.dtype_policy)
        self.resid_dropout = keras.layers.Dropout(self.dropout, name="resid_dropout", dtype=self.dtype_policy)

    def build(self, input_shape):
        if not self.c_attn.built:
            self.c_attn.build((None, None, self.dim))
        if not self.c_proj.built:
            self.c_proj.build((None, None, self.dim))
        self.built = True

    def attention_weights(self, x):
        """Causal attention weights ``(B, heads, T, T)`` and the values ``(B, heads, T, d/H)``.

        The heads go to the batch axes once, so both products are plain batched
        matrix products (XLA:CPU runs an einsum over ``bqhd`` layouts 1.5-2x
        slower), and the ``1/sqrt(d/H)`` scale is applied to the queries, a
        tensor T/(d/H) times smaller than the logits.
        """
        shape = ops.shape(x)
        b, t = shape[0], shape[1]
        head_dim = self.dim // self.num_heads
        qkv = self.c_attn(x)

        def heads(z):
            return ops.transpose(ops.reshape(z, (b, t, self.num_heads, head_dim)), (0, 2, 1, 3))

        q = heads(qkv[..., : self.dim] * (1.0 / math.sqrt(head_dim)))
        k = heads(qkv[..., self.dim : 2 * self.dim])
        v = heads(qkv[..., 2 * self.dim :])
        logits = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        idx = ops.arange(t)
        causal = ops.expand_dims(idx, 1) >= ops.expand_dims(idx, 0)
        logits = ops.where(causal[None, None], logits, ops.full_like(logits, float("-inf")))
        return ops.softmax(logits, axis=-1), v

    def call(self, x, training=None, return_attention_scores=False):
        weights, v = self.attention_weights(x)
        y = ops.matmul(self.attn_dropout(weights, training=training), v)  # (B, heads, T, d/H)
        y = ops.transpose(y, (0, 2, 1, 3))
        shape = ops.shape(y)
        y = ops.reshape(y, (shape[0], shape[1], self.dim))
        y = self.resid_dropout(self.c_proj(y), training=training)
        if return_attention_scores:
            return y, weights
        return y

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
                "init_std": self.init_std,
                "output_init_std": self.output_init_std,
            }
        )
        return config
