"""``astromer.Astromer``: the light-curve transformer encoder with its reconstruction head."""

import keras
import numpy as np
from keras import ops

from astromer.layers.attention_block import AttentionBlock
from astromer.layers.layer_norm import LayerNorm
from astromer.layers.reconstruction_head import ReconstructionHead
from astromer.layers.time_encoding import TimeMagnitudeEmbedding
from astromer.losses.masked_rmse import MaskedRMSE
from astromer.metrics.masked_r2 import MaskedR2
from astromer.models.astromer.architectures import ARCHITECTURES
from astromer.models.astromer.embeddings import embed_light_curves
from astromer.models.compilation import default_jit_compile
from astromer.models.preset_hook import PresetMixin

INPUT_KEYS = ("times", "magnitudes", "mask")
#: what :meth:`Astromer.embed` returns per observation: the encoder output, or every block's side by side
EMBED_LAYERS = ("last", "blocks")


@keras.saving.register_keras_serializable(package="astromer")
class Astromer(PresetMixin, keras.Model):
    """Astromer: a transformer encoder for irregularly sampled light curves.

    Inputs are a dict of ``(B, T)`` arrays (a trailing axis of size 1 is also
    accepted):

    - ``"times"``: observation times in days (per-window zero-mean in the originals);
    - ``"magnitudes"``: per-window zero-mean magnitudes;
    - ``"mask"``: 1 where the encoder may attend (a real, visible observation),
      0 at padding and at hidden (masked-out) positions.

    ``model(inputs)`` returns the reconstructed magnitudes ``(B, T)``;
    ``model.encode(inputs)`` the encoder output ``(B, T, d)``; ``model.embed(curves)``
    embeds raw light curves. ``compile()`` defaults to the original masked RMSE
    loss and the masked R^2 metric, so ``fit()`` on
    :func:`astromer.data.pretraining_dataset` pretrains by masked reconstruction.

    The defaults are the modern pre-LN variant for training from scratch; use
    :meth:`from_architecture` (``"astromer_v1"``, ``"astromer_v2"``) for the
    original architectures, or :func:`astromer.load_preset` for published weights.
    ``time_rates`` (set by the converters) are the exact float32 rates of the
    original time encoding, kept in the config so converted models match the
    originals to ~1e-7 at the input embedding.
    """

    def __init__(
        self,
        num_layers=2,
        num_heads=4,
        head_dim=64,
        ffn_dim=256,
        window_size=200,
        dropout=0.1,
        ffn_activation="gelu",
        block_style="pre",
        use_leak=False,
        attention_mask_format="key",
        attention_mask_alpha=-1e9,
        attention_temperature=0.0,
        layer_norm_epsilon=1e-6,
        mask_token=True,
        time_base=10000.0,
        time_rates=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # Times stay float32 up to the time encoding under bfloat16 policies: inputs are not cast to
        # the compute dtype on entry; _parse_inputs makes every input (NumPy too) a float32 tensor.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.ffn_dim = int(ffn_dim)
        self.window_size = int(window_size)
        self.dropout = float(dropout)
        self.ffn_activation = ffn_activation
        self.block_style = block_style
        self.use_leak = bool(use_leak)
        self.attention_mask_format = attention_mask_format
        self.attention_mask_alpha = float(attention_mask_alpha)
        self.attention_temperature = float(attention_temperature)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.mask_token = bool(mask_token)
        self.time_base = float(time_base)
        self.time_rates = None if time_rates is None else [float(r) for r in time_rates]
        self.width = self.num_heads * self.head_dim

        kw = {"dtype": self.dtype_policy}
        self.embedding = TimeMagnitudeEmbedding(
            self.width, mask_token=mask_token, time_base=time_base, time_rates=self.time_rates,
            name="embedding", **kw,
        )
        self.embedding_dropout = keras.layers.Dropout(self.dropout, name="embedding_dropout", dtype=self.dtype_policy)
        self.blocks = [
            AttentionBlock(
                num_heads, head_dim, ffn_dim, dropout=dropout, ffn_activation=ffn_activation,
                style=block_style, use_leak=use_leak, layer_norm_epsilon=layer_norm_epsilon,
                mask_format=attention_mask_format, mask_alpha=attention_mask_alpha,
                temperature=attention_temperature, name=f"block_{i}", **kw,
            )
            for i in range(self.num_layers)
        ]
        self.final_norm = None
        if block_style == "pre":
            self.final_norm = LayerNorm(
                epsilon=layer_norm_epsilon, name="final_norm", **kw
            )
        self.head = ReconstructionHead(layer_norm_epsilon, name="reconstruction_head", **kw)
        self.build()

    # ------------------------------------------------------------------ building
    def build(self, input_shape=None):
        if not self.embedding.built:
            self.embedding.build(None)
        shape = (None, None, self.width)
        for layer in self.blocks + ([self.final_norm] if self.final_norm is not None else []):
            if not layer.built:
                layer.build(shape)
        if not self.head.built:
            self.head.build(shape)
        self.built = True

    @classmethod
    def from_architecture(cls, name, **overrides):
        """Build an untrained model of a named architecture ("astromer_v1", "astromer_v2", "modern")."""
        if name not in ARCHITECTURES:
            raise ValueError(f"Unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}.")
        return cls(**{**ARCHITECTURES[name], **overrides})

    # ------------------------------------------------------------------ inputs
    def _parse_inputs(self, inputs):
        if not isinstance(inputs, dict):
            raise TypeError(
                "Astromer expects a dict with keys 'times', 'magnitudes' and 'mask' "
                f"(each (batch, steps)); got {type(inputs).__name__}."
            )
        missing = [k for k in INPUT_KEYS if k not in inputs]
        if missing:
            raise KeyError(
                f"Astromer inputs are missing {missing}; expected keys {list(INPUT_KEYS)}, "
                f"got {sorted(inputs)}."
            )
        parsed = []
        for key in INPUT_KEYS:
            x = inputs[key]
            if not hasattr(x, "shape"):
                x = np.asarray(x, dtype="float32")
            if len(x.shape) == 3:
                if x.shape[-1] not in (1, None):
                    raise ValueError(
                        f"Astromer input {key!r} must be (batch, steps) or (batch, steps, 1); "
                        f"got shape {tuple(x.shape)}."
                    )
                x = ops.squeeze(x, axis=-1)
            elif len(x.shape) != 2:
                raise ValueError(
                    f"Astromer input {key!r} must be (batch, steps) or (batch, steps, 1); "
                    f"got shape {tuple(x.shape)}."
                )
            parsed.append(ops.cast(x, "float32"))
        return parsed

    # ------------------------------------------------------------------ forward
    def encode(self, inputs, all_layers=False, training=False, key_bias=None):
        """Encoder output ``(B, T, d)``.

        With ``all_layers=True``, a list: the input embedding, then the output of
        every block (for the pre-LN style the last entry is after the final norm).
        ``key_bias`` ``(B, T)``: added to every attention logit of each key (see
        :class:`astromer.layers.MaskedSelfAttention`; :meth:`encode_windows` uses it).
        """
        times, magnitudes, visible = self._parse_inputs(inputs)
        hidden = 1.0 - visible
        x = self.embedding(times, magnitudes, visible)
        outputs = [x]
        x = self.embedding_dropout(x, training=training)
        for block in self.blocks:
            x = block(x, hidden=hidden, training=training, key_bias=key_bias)
            outputs.append(x)
        if self.final_norm is not None:
            x = self.final_norm(x)
            outputs[-1] = x
        return outputs if all_layers else x

    def call(self, inputs, training=None):
        # "key_bias": windows cut to length buckets where padding is attended (Astromer 1)
        key_bias = inputs.get("key_bias") if isinstance(inputs, dict) else None
        return self.head(self.encode(inputs, training=training, key_bias=key_bias))

    def attention_weights(self, inputs):
        """Attention weights of every block (inference mode), for inspection and plots.

        Returns a list with one ``(B, heads, T, T)`` array per block: row ``i`` of
        head ``h`` is how query position ``i`` spreads its attention over the key
        positions (rows sum to 1; hidden and padded keys get ~0 in the Astromer 2
        and modern masking).
        """
        times, magnitudes, visible = self._parse_inputs(inputs)
        hidden = 1.0 - visible
        x = self.embedding(times, magnitudes, visible)
        weights = []
        for block in self.blocks:
            query = block.norm1(x) if block.style == "pre" else x
            _, w = block.attention(query, hidden=hidden, return_attention_scores=True)
            weights.append(np.asarray(ops.convert_to_numpy(w)))
            x = block(x, hidden=hidden, training=False)
        return weights

    # ------------------------------------------------------------------ training
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """``keras.Model.compile`` with the masked reconstruction defaults.

        ``loss`` defaults to :class:`astromer.losses.MaskedRMSE` (pass
        ``MaskedRMSE(uncertainty_weighted=True)`` for Astromer 2's weighted
        variant) and ``metrics`` to ``[MaskedR2()]``; ``jit_compile`` to
        :func:`astromer.models.compilation.default_jit_compile` (XLA where
        TensorFlow runs without oneDNN, else Keras' ``"auto"``).
        """
        if loss is None:
            loss = MaskedRMSE()
        if metrics is None:
            metrics = [MaskedR2()]
        kwargs.setdefault("jit_compile", default_jit_compile())
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_compile_config(self):
        return super().get_compile_config()

    def compile_from_config(self, config):
        """Restore the compile state saved in a ``.keras`` file (our ``compile`` is custom)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    # ------------------------------------------------------------------ users
    def encode_blocks(self, inputs, training=False, key_bias=None):
        """Every block's output side by side, ``(B, T, num_layers * d)`` (block 0 first; the
        input embedding left out): the representation of :data:`EMBED_LAYERS` ``"blocks"``."""
        outputs = self.encode(inputs, all_layers=True, training=training, key_bias=key_bias)
        return ops.concatenate(outputs[1:], axis=-1)

    def encoder_model(self, layers="last"):
        """A functional ``keras.Model`` mapping the input dict (windows of
        ``window_size``) to the encoder output (``layers="blocks"``: :meth:`encode_blocks`);
        shares this model's weights."""
        if layers != "last":
            return self._encoder_for_length(self.window_size, layers)
        cached = self.__dict__.get("_encoder_cache")
        if cached is None:
            inputs = {k: keras.Input(shape=(self.window_size,), name=k) for k in INPUT_KEYS}
            cached = keras.Model(inputs, self.encode(inputs), name=f"{self.name}_encoder")
            object.__setattr__(self, "_encoder_cache", cached)
        return cached

    @property
    def padding_is_ignored(self):
        """Whether padded positions cannot change the real ones' outputs: keys masked with a
        weight that underflows to 0 (Astromer 2 and the modern blocks; Astromer 1's
        query-key mask lets padding in, as the original does)."""
        return self.attention_mask_format == "key" and self.attention_mask_alpha <= -1e4

    def _encoder_for_length(self, length, layers="last", key_bias=False):
        """The encoder on windows of ``length`` steps (same weights; cached per length), its
        output ``layers`` (:data:`EMBED_LAYERS`); with ``key_bias``, a fourth input
        ``"key_bias"`` ``(B, length)`` passed to every attention layer."""
        if layers not in EMBED_LAYERS:
            raise ValueError(f"layers must be one of {EMBED_LAYERS}, got {layers!r}")
        if length == self.window_size and layers == "last" and not key_bias:
            return self.encoder_model()
        name = "_encoder_by_length" if layers == "last" else f"_{layers}_by_length"
        cache = self.__dict__.setdefault(name + ("_weighted" if key_bias else ""), {})
        if length not in cache:
            inputs = {k: keras.Input(shape=(length,), name=k) for k in INPUT_KEYS}
            if key_bias:
                inputs["key_bias"] = keras.Input(shape=(length,), name="key_bias")
            encode = self.encode if layers == "last" else self.encode_blocks
            out = encode(inputs, key_bias=inputs.get("key_bias"))
            cache[length] = keras.Model(inputs, out, name=f"{self.name}_encoder_{layers}_{length}")
        return cache[length]

    def encode_windows(self, x, lengths=None, batch_size=256, verbose="auto", bucketing="auto", layers="last"):
        """Encoder output ``(N, W, d)`` of windows ``x`` (dict of ``(N, W)`` arrays), in batches
        (``layers="blocks"``: every block's output side by side, ``(N, W, num_layers * d)``).

        ``bucketing``: windows are grouped by their real length (``lengths``; default: up to the
        last step ``mask`` marks) into at most 4 buckets, each cut to a multiple of 8 steps
        chosen for these windows (:func:`astromer.data.windows.length_buckets`: the
        least compute) and encoded at that length, so most of the padding costs no compute; the
        outputs of real positions are the same up to float32 rounding (padded rows are 0).

        - Models that ignore padding (:attr:`padding_is_ignored`: Astromer 2, modern) simply
          drop it.
        - Where padding is attended (Astromer 1's additive query-key mask, as the original),
          the padded steps of a window (time, magnitude and mask all 0) are identical inputs, so
          every block keeps them identical and each query sees them as ``P`` equal keys. The cut
          window keeps ``p >= 1`` of them and adds ``log(P / p)`` to their attention logits
          (``key_bias``): ``p`` keys weighted ``P / p`` each are the same softmax as ``P``
          keys, exactly (a window then needs a bucket longer than its real length). A step
          after the last one ``mask`` marks whose time or magnitude is not 0 counts as real.

        "auto": on when there are at least ``batch_size`` windows (fewer do not repay compiling
        up to 3 more shapes); True: on; False: every window at full length.
        """
        from astromer.models.batched_inference import expected_retracing, predict_in_batches

        if bucketing not in ("auto", True, False):
            raise ValueError(f"bucketing must be 'auto', True or False, got {bucketing!r}")
        n = len(x["mask"])
        if not (bucketing is True or (bucketing == "auto" and n >= batch_size)):
            return predict_in_batches(self.encoder_model(layers), x, batch_size=batch_size, verbose=verbose)
        out = None
        with expected_retracing():  # one trace per bucket shape, on purpose
            for rows, chunk, padded in self.window_buckets(x, lengths):
                encoder = self._encoder_for_length(padded.shape[1], layers, key_bias="key_bias" in chunk)
                z = predict_in_batches(encoder, chunk, batch_size=batch_size, verbose=verbose)
                z[padded] = 0  # padded steps are not outputs: 0, as the padding cut away
                if out is None:
                    out = np.zeros((n, self.window_size, z.shape[-1]), dtype=z.dtype)
                out[rows, :padded.shape[1]] = z
        return out

    def window_buckets(self, x, lengths=None):
        """The windows ``x`` grouped and cut for :meth:`encode_windows` (see there):
        :func:`astromer.data.windows.cut_windows` with this model's window size, padding kind
        and widths. Any model whose ``call`` passes ``inputs["key_bias"]`` on to :meth:`encode`
        and pools real steps only (the classifiers) can run on the cut inputs."""
        from astromer.data.windows import cut_windows

        return cut_windows(x, self.window_size, lengths=lengths, attended=not self.padding_is_ignored,
                           row_cost=2 * self.width + self.ffn_dim)

    def embed(self, light_curves, ids=None, batch_size=256, verbose="auto", rules=None,
              time_precision="float64", columns=None, zero_point=None, bucketing="auto", layers="last",
              time_scales=(1.0,)):
        """Embed raw light curves: one row per observation and a pooled vector per object.

        ``light_curves``: a list of arrays with columns (time, mag[, err]), or a
        pandas DataFrame in the long layout ``object_id,time,mag[,mag_err]``
        (with a ``band`` column, each (object, band) is one curve; without
        ``object_id`` it is one curve), one ``(n, 2|3)`` array, an astropy
        ``Table``/``TimeSeries`` or a lightkurve ``LightCurve`` (units honoured,
        fluxes made magnitudes with ``zero_point``), or a list of tables;
        ``columns`` maps the package's names to the table's (``{"time": "mjd"}``);
        see :mod:`astromer.data.curve_inputs`. Each curve is
        cleaned with the package's one policy (``rules``, default
        :class:`astromer.data.cleaning.CleaningRules`: NaN/inf, sentinels such
        as 99.999, absurd values and exact duplicates are dropped; a curve with
        nothing left is dropped; one warning counts everything), sorted by
        time, cut into sequential windows of ``window_size`` observations
        (the last one shifted back to be full, as the original), each window is
        zero-meaned (times in float64 first, so JD, MJD and small-day times
        embed alike; ``time_precision="float32"`` is the original's arithmetic)
        and padded, and the windows are encoded in batches of ``batch_size``
        (``verbose`` as in ``keras.Model.predict``: a progress bar by default; ``bucketing``
        as in :meth:`encode_windows`: windows are cut to length buckets, so most padding costs no compute).
        Every observation gets exactly one embedding row, from the first window
        that holds it: the encoder output (``layers="last"``), or every block's output side by
        side (``"blocks"``, ``num_layers * d`` wide; the probe of ``astromer evaluate`` reads it).
        ``time_scales``: each window encoded once per scale, centred times multiplied by it, rows side by
        side (``(1.0, 0.3)``: ``astromer evaluate``'s ``probe_scales``). ``pooled`` is the mean of those rows. Returns
        :class:`LightCurveEmbeddings`, in input order (dropped curves are
        listed in its ``dropped``). A NaN/inf embedding is an error naming the
        object, never returned.
        """
        return embed_light_curves(self, light_curves, ids, batch_size=batch_size, verbose=verbose, rules=rules,
                                  time_precision=time_precision, columns=columns, zero_point=zero_point,
                                  bucketing=bucketing, layers=layers, time_scales=time_scales)

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "ffn_dim": self.ffn_dim,
                "window_size": self.window_size,
                "dropout": self.dropout,
                "ffn_activation": self.ffn_activation,
                "block_style": self.block_style,
                "use_leak": self.use_leak,
                "attention_mask_format": self.attention_mask_format,
                "attention_mask_alpha": self.attention_mask_alpha,
                "attention_temperature": self.attention_temperature,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "mask_token": self.mask_token,
                "time_base": self.time_base,
                "time_rates": self.time_rates,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
