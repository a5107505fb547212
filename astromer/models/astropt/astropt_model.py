"""``astromer.AstroPT``: the causal next-patch transformer for galaxy images (Smith et al. 2024)."""

import math

import keras
import numpy as np
from keras import ops

from astromer.layers.causal_block import CausalBlock
from astromer.layers.layer_norm import LayerNorm
from astromer.layers.patch_standardization import PatchStandardization, standardize_patches
from astromer.layers.patch_tokenizers import PatchDecoder, PatchEncoder
from astromer.layers.position_embedding import LearnedPositionEmbedding
from astromer.layers.spiral import SpiralPatcher
from astromer.models.astropt import embedding
from astromer.models.astropt.architectures import architecture
from astromer.models.astropt.embedding import POOLINGS
from astromer.models.preset_hook import PresetMixin


@keras.saving.register_keras_serializable(package="astromer")
class AstroPT(PresetMixin, keras.Model):
    """AstroPT: a GPT-style causal transformer that predicts the next image patch.

    Images ``(B, H, W, C)`` are cut into ``patch_size`` patches, read in a
    spiral from the centre outwards and standardised patch by patch
    (:meth:`tokenize`), giving tokens ``(B, N, P)`` with
    ``P = patch_size**2 * num_channels``. The model maps tokens to
    predictions of the following token::

        x = PatchEncoder(tokens) + LearnedPositionEmbedding(positions)
        x = CausalBlock(x)  (num_layers times);  predictions = PatchDecoder(LayerNorm(x))

    - ``model(tokens)`` (rank 3): predictions ``(B, T, P)`` for positions
      ``0..T-1`` (or ``model(tokens, positions=...)``); prediction ``t`` is the
      model's guess of token ``t + 1`` and depends only on tokens ``0..t``.
    - ``model(images)`` (rank 4): the training forward, tokens ``[:, :-1]``
      of the images, predictions ``(B, N-1, P)``.
    - ``fit()`` on a dataset of images (or of tokens) trains by next-patch
      prediction with the Huber loss (delta 1) of the original; see :meth:`compile`.
    - :meth:`embed` gives per-image embeddings from raw images,
      :meth:`generate` rolls out new patches, :meth:`tokens_to_images`
      re-assembles tokens into images.

    Quirks of the original data paths are settings, kept by the converters:
    ``transpose_images`` (astroPT 2's Hugging Face path transposes every
    image), ``token_precision`` (``"float16"``: astroPT 2 rounds tokens to
    float16; ``"bfloat16"``: astroPT 1 standardises in bfloat16) and the
    embedding defaults (``embedding_layer``: block index, ``None`` for the
    centre block ``num_layers // 2`` of astroPT 2, ``-1`` for astroPT 1's last
    block; ``embedding_tokens``: average only the first k spiral tokens).
    Use :meth:`from_architecture` for the published sizes and
    :func:`astromer.load_preset` for original checkpoints.
    """

    def __init__(
        self,
        num_layers=6,
        num_heads=8,
        embed_dim=256,
        block_size=1024,
        patch_size=16,
        num_channels=3,
        dropout=0.0,
        use_bias=False,
        tokenizer="aim",
        layer_norm_epsilon=1e-5,
        transpose_images=False,
        spiral=True,
        token_precision="float32",
        embedding_layer=None,
        embedding_pooling="mean",
        embedding_tokens=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.embed_dim = int(embed_dim)
        self.block_size = int(block_size)
        self.patch_size = int(patch_size)
        self.num_channels = int(num_channels)
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.tokenizer = tokenizer
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.transpose_images = bool(transpose_images)
        self.spiral = bool(spiral)
        self.token_precision = token_precision
        self.embedding_layer = None if embedding_layer is None else int(embedding_layer)
        if embedding_pooling not in POOLINGS:
            raise ValueError(f"embedding_pooling must be one of {POOLINGS}, got {embedding_pooling!r}.")
        self.embedding_pooling = embedding_pooling
        self.embedding_tokens = None if embedding_tokens is None else int(embedding_tokens)
        self.patch_dim = self.patch_size**2 * self.num_channels

        kw = {"dtype": self.dtype_policy}
        # GPT-2's scaled init of every "c_proj" weight: N(0, 0.02 / sqrt(2 n_layer)).
        residual_std = 0.02 / math.sqrt(2 * self.num_layers)
        token_out_std = residual_std if tokenizer == "aim" else None
        self.patcher = SpiralPatcher(patch_size, transpose=transpose_images, spiral=spiral, name="patcher")
        self.standardize = PatchStandardization(precision=token_precision, name="standardize")
        self.encoder = PatchEncoder(
            tokenizer, self.embed_dim, use_bias=use_bias, output_init_std=token_out_std, name="encoder", **kw
        )
        self.position_embedding = LearnedPositionEmbedding(
            self.block_size, self.embed_dim, name="position_embedding", **kw
        )
        self.embedding_dropout = keras.layers.Dropout(self.dropout, name="embedding_dropout", dtype=self.dtype_policy)
        self.blocks = [
            CausalBlock(
                num_heads, self.embed_dim, dropout=dropout, use_bias=use_bias,
                layer_norm_epsilon=layer_norm_epsilon, output_init_std=residual_std, name=f"block_{i}", **kw,
            )
            for i in range(self.num_layers)
        ]
        self.final_norm = LayerNorm(
            epsilon=layer_norm_epsilon, center=use_bias, name="final_norm", **kw
        )
        self.decoder = PatchDecoder(
            tokenizer, self.embed_dim, self.patch_dim, use_bias=use_bias, output_init_std=token_out_std,
            name="decoder", **kw,
        )
        self.build()

    # ------------------------------------------------------------------ building
    def build(self, input_shape=None):
        width = (None, None, self.embed_dim)
        for layer, shape in (
            (self.encoder, (None, None, self.patch_dim)),
            (self.position_embedding, None),
            *[(block, width) for block in self.blocks],
            (self.final_norm, width),
            (self.decoder, width),
        ):
            if not layer.built:
                layer.build(shape)
        self.built = True

    @classmethod
    def from_architecture(cls, size, family="v2", image_size=None, **overrides):
        """An untrained model of a published size ("001M", "005M", "012M", "021M", "089M",
        "309M", "830M", "2100M") in a family: "v1" (astroPT 1.0), "v2" (astroPT 2, with its
        data-path quirks) or "modern" (the v2 architecture without them).

        ``image_size`` (int or (height, width)): the images it will read; the block size is
        then their number of patches, ``(H / patch_size) * (W / patch_size)``, and sizes that
        are not a multiple of the patch size are an error. (A 64-px image in 16-px patches is
        16 tokens, whatever the block size: pass ``patch_size=8`` for 64 tokens.)"""
        config = {**architecture(size, family), **overrides}
        if image_size is not None:
            h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
            patch = int(config["patch_size"])
            if h % patch or w % patch:
                raise ValueError(f"image_size {h}x{w} is not a multiple of patch_size {patch}")
            tokens = (h // patch) * (w // patch)
            if "block_size" in overrides and int(overrides["block_size"]) < tokens:
                raise ValueError(f"block_size {overrides['block_size']} is below the {tokens} patches of "
                                 f"{h}x{w} images in {patch}-px patches")
            if "block_size" not in overrides:
                config["block_size"] = tokens
        return cls(**config)

    # ------------------------------------------------------------------ tokens
    def tokenize(self, images):
        """Raw images ``(B, H, W, C)`` (uint8 or float, no scaling) to tokens ``(B, N, P)``.

        The preset's preprocessing, bit-exact with the original: the optional
        transpose, patches in spiral order, per-patch standardisation at the
        original precision. Returns a float32 NumPy array.
        """
        images = self._check_images(images)
        patches = np.asarray(self.patcher(images))
        return standardize_patches(patches, precision=self.token_precision)

    def _check_images(self, images):
        if not hasattr(images, "shape"):
            images = np.asarray(images)
        if len(images.shape) == 3:
            raise ValueError(
                f"Expected a batch of images (batch, H, W, C); got shape {tuple(images.shape)}. "
                "Add a batch axis (images[None]) for a single image."
            )
        if len(images.shape) != 4:
            raise ValueError(f"Expected images (batch, H, W, C); got shape {tuple(images.shape)}.")
        if images.shape[-1] != self.num_channels:
            raise ValueError(
                f"This model takes {self.num_channels}-channel images (channels last); got shape "
                f"{tuple(images.shape)}."
            )
        return images

    def tokens_to_images(self, tokens, grid_shape=None):
        """Re-assemble tokens ``(B, N, P)`` (this model's order) into images ``(B, H, W, C)``.

        The pixels stay standardised per patch (the original values are not
        recoverable); use it to plot predictions or generated patches.
        """
        return np.asarray(self.patcher.inverse(tokens, grid_shape=grid_shape))

    # ------------------------------------------------------------------ forward
    def _parse(self, inputs, positions):
        if isinstance(inputs, dict):
            positions = inputs.get("positions", positions)
            key = "tokens" if "tokens" in inputs else "patches"
            if key not in inputs:
                raise KeyError(
                    f"AstroPT dict inputs need a 'tokens' key (and optional 'positions'); got {sorted(inputs)}."
                )
            inputs = inputs[key]
        return inputs, positions

    def _embed_tokens(self, tokens, positions=None, training=None):
        tokens = ops.cast(tokens, self.compute_dtype)
        length = tokens.shape[1]
        if isinstance(length, int) and length > self.block_size:
            raise ValueError(
                f"Cannot forward {length} tokens: the block size (position table) is {self.block_size}."
            )
        if positions is None:
            pos = self.position_embedding(ops.expand_dims(ops.arange(ops.shape(tokens)[1]), 0))
        else:
            pos = self.position_embedding(positions)
        return self.embedding_dropout(self.encoder(tokens) + pos, training=training)

    def _hidden_at(self, tokens, layer, positions=None, training=None):
        """Hidden state after block ``layer`` (0-based) or "final" (after the final norm)."""
        x = self._embed_tokens(tokens, positions, training)
        last = self.num_layers - 1 if layer == "final" else layer
        for block in self.blocks[: last + 1]:
            x = block(x, training=training)
        return self.final_norm(x) if layer == "final" else x

    def hidden_states(self, tokens, positions=None, training=False):
        """``[embedding, block_0, ..., block_{L-1}]``: the input to the first block
        (``wte + wpe``) and each block's output (the last one before the final norm)."""
        tokens, positions = self._parse(tokens, positions)
        x = self._embed_tokens(tokens, positions, training)
        states = [x]
        for block in self.blocks:
            x = block(x, training=training)
            states.append(x)
        return states

    def _graph_tokens(self, images):
        return self.standardize(self.patcher(images))

    def call(self, inputs, positions=None, training=None):
        tokens, positions = self._parse(inputs, positions)
        if len(tokens.shape) == 4:  # images: the training forward on tokens[:, :-1]
            tokens = self._graph_tokens(tokens)[:, :-1]
            positions = None
        elif len(tokens.shape) != 3:
            raise ValueError(
                f"AstroPT takes tokens (batch, steps, {self.patch_dim}) or images (batch, H, W, C); "
                f"got shape {tuple(tokens.shape)}."
            )
        x = self._embed_tokens(tokens, positions, training)
        for block in self.blocks:
            x = block(x, training=training)
        return self.decoder(self.final_norm(x))

    # ------------------------------------------------------------------ training
    def compile(self, optimizer=None, loss=None, metrics=None, **kwargs):
        """``keras.Model.compile`` with the original's defaults.

        ``loss`` defaults to ``keras.losses.Huber(delta=1.0)`` (the mean over
        all values, as ``F.huber_loss``); ``optimizer`` to AdamW with the
        original's learning rate 6e-4, betas (0.9, 0.95), weight decay 0.1
        (not applied to norms and biases) and gradient-norm clipping at 1.0,
        as the original's; its schedule and warm-up are left to the caller.

        Without targets (``fit(images)`` or ``fit(tokens)``) the targets are
        the next tokens: the images' tokens ``[:, 1:]``, or ``tokens[:, 1:]``
        against the predictions ``[:, :-1]``. On images, class labels or other
        per-image targets (anything but a ``(B, N-1, P)`` token array, e.g. the
        ``(images, labels)`` batches of :func:`astromer.records.image_records`)
        are ignored: pretraining predicts the next patches.

        On TensorFlow ``jit_compile`` defaults to ``True`` (XLA) rather than
        Keras' CPU default of off: measured on a 2-core CPU, the 5M training
        step was 1.04-1.12x astropt on torch with XLA and 0.98x without
        (``benchmarks/astropt_vs_original.py``); on GPUs Keras uses XLA anyway.
        Pass ``jit_compile=False`` to opt out.
        """
        if keras.backend.backend() == "tensorflow":
            kwargs.setdefault("jit_compile", True)
        if optimizer is None:
            optimizer = keras.optimizers.AdamW(
                learning_rate=6e-4, beta_1=0.9, beta_2=0.95, weight_decay=0.1, clipnorm=1.0
            )
            optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
        if loss is None:
            loss = keras.losses.Huber(delta=1.0)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        """Restore the compile state saved in a ``.keras`` file (our ``compile`` is custom)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if x is not None and y is not None and len(getattr(y, "shape", ())) != 3:
            tokens, _ = self._parse(x, None)
            if len(tokens.shape) == 4:  # (images, labels): labels are not next-patch targets
                y = sample_weight = None
        if y is None and x is not None:
            tokens, _ = self._parse(x, None)
            if len(tokens.shape) == 4:
                y = self._graph_tokens(tokens)[:, 1:]
            else:
                y = ops.cast(tokens, "float32")[:, 1:]
                y_pred = y_pred[:, :-1]
        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)

    # ------------------------------------------------------------------ users
    def embed_tokens(self, tokens, layer=None, pooling=None, num_tokens=None, batch_size=64, verbose=0):
        """Embeddings of tokens ``(B, N, P)``; see :meth:`embed` for the arguments."""
        return embedding.embed_tokens(self, tokens, layer, pooling, num_tokens, batch_size, verbose)

    def embed(self, images, layer=None, pooling=None, num_tokens=None, batch_size=64, verbose=0):
        """Embeddings of raw images ``(B, H, W, C)`` (uint8 or float), as NumPy.

        The preset's preprocessing (:meth:`tokenize`) is applied first. Defaults
        are the original's: ``layer`` is the block whose output is used (an
        index, negative from the end, or ``"final"`` for the final-norm output;
        default ``embedding_layer``: block ``num_layers // 2`` for astroPT 2,
        the last block for astroPT 1), ``num_tokens`` keeps the first k spiral
        tokens (default ``embedding_tokens``: all for astroPT 2, 64 for
        astroPT 1) and ``pooling`` is ``"mean"`` over tokens (or ``"none"``
        for ``(B, N, d)``, ``"last"``, ``"exp_decay"``).
        """
        return embedding.embed_images(self, images, layer, pooling, num_tokens, batch_size, verbose)

    def generate(self, tokens, new_tokens, temperature=0.0, seed=None):
        """Roll out ``new_tokens`` patches after ``tokens`` ``(B, T, P)``.

        Each step appends the prediction for the last position (plus Gaussian
        noise of std ``temperature``), cropping the context to the last
        ``block_size`` tokens as the original. Returns ``(B, T + new_tokens, P)``.
        """
        x = np.asarray(tokens, dtype="float32")
        rng = np.random.default_rng(seed)
        for _ in range(int(new_tokens)):
            context = x[:, -self.block_size :]
            nxt = np.asarray(self(context, training=False))[:, -1:]
            if temperature:
                nxt = nxt + temperature * rng.standard_normal(nxt.shape).astype("float32")
            x = np.concatenate([x, nxt.astype("float32")], axis=1)
        return x

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "embed_dim": self.embed_dim,
                "block_size": self.block_size,
                "patch_size": self.patch_size,
                "num_channels": self.num_channels,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "tokenizer": self.tokenizer,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "transpose_images": self.transpose_images,
                "spiral": self.spiral,
                "token_precision": self.token_precision,
                "embedding_layer": self.embedding_layer,
                "embedding_pooling": self.embedding_pooling,
                "embedding_tokens": self.embedding_tokens,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
