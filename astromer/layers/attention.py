"""Multi-head self-attention with the masking conventions of both Astromer originals."""

import math

import keras
from keras import ops

MASK_FORMATS = ("key", "query", "query_key", "none")


@keras.saving.register_keras_serializable(package="astromer")
class MaskedSelfAttention(keras.layers.Layer):
    """Multi-head self-attention whose mask is an additive logit term.

    ``hidden`` (B, T) is 1 at positions that are not visible (padding or hidden
    observations). The term ``mask_alpha * m_ij`` is added to the logits, where

    - ``mask_format="key"``: ``m_ij = hidden_j`` (Astromer 2, ``mask_alpha=-1e9``:
      hidden keys get weight exactly 0);
    - ``"query"``: ``m_ij = hidden_i``;
    - ``"query_key"``: ``m_ij = min(1, hidden_i + hidden_j)`` (Astromer 1 uses this
      with ``mask_alpha=+1``: the mask is *added*, so it does not hide padding);
    - ``"none"``: no mask.

    ``key_bias`` (B, T), optional, is added to every query's logits of key ``j``: with
    ``log(n_j)`` it makes key ``j`` count as ``n_j`` identical keys, which lets a window drop
    identical padding rows and keep a weighted stand-in (see ``Astromer.encode_windows``).

    Logits are ``q.k / sqrt(head_dim)`` (divided by ``temperature`` when non-zero).
    """

    def __init__(
        self,
        num_heads,
        head_dim,
        mask_format="key",
        mask_alpha=-1e9,
        temperature=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mask_format not in MASK_FORMATS:
            raise ValueError(f"mask_format must be one of {MASK_FORMATS}, got {mask_format!r}")
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.mask_format = mask_format
        self.mask_alpha = float(mask_alpha)
        self.temperature = float(temperature)
        width = self.num_heads * self.head_dim
        kw = {"dtype": self.dtype_policy}
        self.query_dense = keras.layers.Dense(width, name="query", **kw)
        self.key_dense = keras.layers.Dense(width, name="key", **kw)
        self.value_dense = keras.layers.Dense(width, name="value", **kw)
        self.output_dense = keras.layers.Dense(width, name="attention_output", **kw)

    def build(self, input_shape):
        shape = (None, None, input_shape[-1])
        for layer in (self.query_dense, self.key_dense, self.value_dense):
            if not layer.built:
                layer.build(shape)
        if not self.output_dense.built:
            self.output_dense.build((None, None, self.num_heads * self.head_dim))
        self.built = True

    def _projections(self, x):
        """Queries (scaled), keys and values, each ``(B, heads, T, dh)``.

        The projections run on the ``(B*T, d)`` rows: plain 2-D matrix products (on TensorFlow
        the bias add fuses into the oneDNN kernel; on JAX the kernel gradients are one GEMM
        each: an Astromer 1 training step 1.18-1.21x faster there,
        ``benchmarks/results/ab_checkouts_jax.md``). The heads then move to the batch axes, so
        both attention products are plain batched matrix products. The
        ``1/sqrt(head_dim)`` (and temperature) scale multiplies the (B, T, d) queries, not the
        (B, heads, T, T) logits: one pass over a tensor T/dh times smaller; for the power-of-4
        head sizes of the originals (64) the scale is a power of two, so this is exact.
        """
        scale = 1.0 / math.sqrt(self.head_dim)
        if self.temperature != 0.0:
            scale = scale / self.temperature
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        rows = ops.reshape(x, (-1, x.shape[-1]))
        q = self.query_dense(rows) * scale
        return tuple(self._heads(z, b, t) for z in (q, self.key_dense(rows), self.value_dense(rows)))

    def _heads(self, x, b, t):
        """(B, T, heads * dh) -> (B, heads, T, dh)."""
        return ops.transpose(ops.reshape(x, (b, t, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def attention_logits(self, x, hidden=None, key_bias=None):
        """Masked attention logits (B, heads, T_query, T_key) and the values (B, heads, T, dh)."""
        q, k, v = self._projections(x)
        logits = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        if hidden is not None and self.mask_format != "none":
            hidden = ops.cast(hidden, logits.dtype)
            if self.mask_format == "key":
                term = hidden[:, None, None, :]
            elif self.mask_format == "query":
                term = hidden[:, None, :, None]
            else:
                term = ops.minimum(1.0, hidden[:, None, :, None] + hidden[:, None, None, :])
            logits = logits + term * self.mask_alpha
        if key_bias is not None:
            logits = logits + ops.cast(key_bias, logits.dtype)[:, None, None, :]
        return logits, v

    def call(self, x, hidden=None, return_attention_scores=False, key_bias=None):
        logits, v = self.attention_logits(x, hidden, key_bias)
        weights = ops.softmax(logits, axis=-1)
        out = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))  # (B, T, heads, dh)
        shape = ops.shape(out)
        width = self.num_heads * self.head_dim
        out = self.output_dense(ops.reshape(out, (-1, width)))  # 2-D rows, as the projections
        out = ops.reshape(out, (shape[0], shape[1], width))
        if return_attention_scores:
            return out, weights
        return out

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return tuple(input_shape[:-1]) + (self.num_heads * self.head_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "mask_format": self.mask_format,
                "mask_alpha": self.mask_alpha,
                "temperature": self.temperature,
            }
        )
        return config
