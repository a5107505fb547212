"""The Astromer transformer block: both original post-LN variants and a modern pre-LN one."""

import keras
from keras import ops

from astromer.layers.attention import MaskedSelfAttention
from astromer.layers.layer_norm import LayerNorm

BLOCK_STYLES = ("post", "pre")


def _on_rows(fn, x):
    """``fn`` applied to the ``(B*T, d)`` rows of ``x`` ``(B, T, d)``: Dense layers become plain
    2-D products, whose bias add and activation fuse into one oneDNN kernel on TensorFlow."""
    shape = ops.shape(x)
    y = fn(ops.reshape(x, (-1, x.shape[-1])))
    return ops.reshape(y, (shape[0], shape[1], y.shape[-1]))


@keras.saving.register_keras_serializable(package="astromer")
class AttentionBlock(keras.layers.Layer):
    """One encoder block.

    ``style="post"`` reproduces the originals (no residual connections)::

        a = Dropout(MHA(x));   a = leak_attention(x) + a   if use_leak;  a = LN1(a)
        f = Dropout(FFN(a));   f = leak_ffn(a) + f         if use_leak;  out = LN2(f)

    Astromer 1 has ``use_leak=False``; Astromer 2 adds the projected residuals
    ("use_leak", a Dense on the skip path). ``style="pre"`` is the modern
    pre-LN residual block for models trained from scratch::

        x = x + Dropout(MHA(LN1(x)));   out = x + Dropout(FFN(LN2(x)))

    ``FFN = Dense(ffn_dim, activation) -> Dense(width)``; the originals use tanh.
    """

    def __init__(
        self,
        num_heads,
        head_dim,
        ffn_dim,
        dropout=0.0,
        ffn_activation="tanh",
        style="post",
        use_leak=False,
        layer_norm_epsilon=1e-6,
        mask_format="key",
        mask_alpha=-1e9,
        temperature=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if style not in BLOCK_STYLES:
            raise ValueError(f"style must be one of {BLOCK_STYLES}, got {style!r}")
        if use_leak and style != "post":
            raise ValueError("use_leak (Astromer 2's projected residual) only exists for style='post'.")
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.ffn_dim = int(ffn_dim)
        self.dropout = float(dropout)
        self.ffn_activation = ffn_activation
        self.style = style
        self.use_leak = bool(use_leak)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.mask_format = mask_format
        self.mask_alpha = float(mask_alpha)
        self.temperature = float(temperature)
        self.width = self.num_heads * self.head_dim

        kw = {"dtype": self.dtype_policy}
        self.attention = MaskedSelfAttention(
            num_heads, head_dim, mask_format=mask_format, mask_alpha=mask_alpha,
            temperature=temperature, name="attention", **kw,
        )
        self.ffn_inner = keras.layers.Dense(self.ffn_dim, activation=ffn_activation, name="ffn_inner", **kw)
        self.ffn_outer = keras.layers.Dense(self.width, name="ffn_outer", **kw)
        self.norm1 = LayerNorm(epsilon=self.layer_norm_epsilon, name="norm1", **kw)
        self.norm2 = LayerNorm(epsilon=self.layer_norm_epsilon, name="norm2", **kw)
        self.dropout1 = keras.layers.Dropout(self.dropout, name="dropout1", dtype=self.dtype_policy)
        self.dropout2 = keras.layers.Dropout(self.dropout, name="dropout2", dtype=self.dtype_policy)
        if self.use_leak:
            self.leak_attention = keras.layers.Dense(self.width, name="leak_attention", **kw)
            self.leak_ffn = keras.layers.Dense(self.width, name="leak_ffn", **kw)

    def build(self, input_shape):
        shape = (None, None, input_shape[-1])
        width_shape = (None, None, self.width)
        for layer, s in (
            (self.attention, shape),
            (self.ffn_inner, width_shape),
            (self.ffn_outer, (None, None, self.ffn_dim)),
            (self.norm1, width_shape if self.style == "post" else shape),
            (self.norm2, width_shape),
        ):
            if not layer.built:
                layer.build(s)
        if self.use_leak:
            for layer, s in ((self.leak_attention, shape), (self.leak_ffn, width_shape)):
                if not layer.built:
                    layer.build(s)
        self.built = True

    def _ffn(self, x):
        return _on_rows(lambda rows: self.ffn_outer(self.ffn_inner(rows)), x)

    def call(self, x, hidden=None, training=None, key_bias=None):
        if self.style == "pre":
            a = self.attention(self.norm1(x), hidden=hidden, key_bias=key_bias)
            x = x + self.dropout1(a, training=training)
            f = self._ffn(self.norm2(x))
            return x + self.dropout2(f, training=training)
        a = self.dropout1(self.attention(x, hidden=hidden, key_bias=key_bias), training=training)
        if self.use_leak:
            a = _on_rows(self.leak_attention, x) + a
        a = self.norm1(a)
        f = self.dropout2(self._ffn(a), training=training)
        if self.use_leak:
            f = _on_rows(self.leak_ffn, a) + f
        return self.norm2(f)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return tuple(input_shape[:-1]) + (self.width,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "ffn_dim": self.ffn_dim,
                "dropout": self.dropout,
                "ffn_activation": self.ffn_activation,
                "style": self.style,
                "use_leak": self.use_leak,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "mask_format": self.mask_format,
                "mask_alpha": self.mask_alpha,
                "temperature": self.temperature,
            }
        )
        return config
