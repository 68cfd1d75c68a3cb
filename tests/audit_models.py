"""Model factories for ``initspec audit`` (the audit sessions and reports/audit/).

Hugging Face models are built from small configs (no download); the ViT-style model is written
here because torchvision does not import beside the pinned torch. Each factory returns a fresh
model; torch models are seeded by the audit (``torch.manual_seed``), Flax ones take ``seed``.
"""

from __future__ import annotations

SMALL_BERT = {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2,
              "num_attention_heads": 4, "intermediate_size": 37, "max_position_embeddings": 64,
              "type_vocab_size": 2}
SMALL_GPT2 = {"vocab_size": 99, "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64}


def bert_torch():
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(**SMALL_BERT))


def bert_flax(seed: int):
    from transformers import BertConfig, FlaxBertModel

    return FlaxBertModel(BertConfig(**SMALL_BERT), seed=seed)


def gpt2_torch():
    from transformers import GPT2Config, GPT2Model

    return GPT2Model(GPT2Config(**SMALL_GPT2))


def gpt2_flax(seed: int):
    from transformers import FlaxGPT2Model, GPT2Config

    return FlaxGPT2Model(GPT2Config(**SMALL_GPT2), seed=seed)


# --------------------------------------------------------------------------- a ViT-style model


def _vit(trunc_cut: float | None = None, width: int = 64, depth: int = 2, patches: int = 16):
    """timm's ViT initialisation: ``trunc_normal_(std=.02)`` on the position embedding, the
    class token and every Linear weight, zero biases. torch's ``trunc_normal_`` cuts at the
    *absolute* a=-2, b=2, i.e. ±100σ at std 0.02; ``trunc_cut`` cuts at ±cut·σ instead."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(width)
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)
            self.norm2 = nn.LayerNorm(width)
            self.fc1 = nn.Linear(width, 4 * width)
            self.fc2 = nn.Linear(4 * width, width)

    class ViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch_embed = nn.Conv2d(3, width, 4, 4)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
            self.pos_embed = nn.Parameter(torch.zeros(1, patches + 1, width))
            self.blocks = nn.ModuleList(Block() for _ in range(depth))
            self.head = nn.Linear(width, 10)
            cut = {} if trunc_cut is None else {"a": -trunc_cut * 0.02, "b": trunc_cut * 0.02}
            nn.init.trunc_normal_(self.pos_embed, std=0.02, **cut)
            nn.init.trunc_normal_(self.cls_token, std=0.02, **cut)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=0.02, **cut)
                    nn.init.zeros_(m.bias)

    return ViT()


def vit():
    return _vit()


def vit_cut():
    return _vit(trunc_cut=2.0)


# --------------------------------------------------------------------------- flag fixtures


def linear():
    from torch import nn

    return nn.Sequential(nn.Linear(64, 32), nn.Conv2d(3, 8, 3), nn.LayerNorm(16),
                         nn.Embedding(100, 16, padding_idx=0), nn.BatchNorm1d(8))


def bugs():
    """One of each flag, the rest a correct model: a weight drawn from a generator seeded inside
    the model (the same in every instance), a weight left at zero, and an embedding drawn with
    the std of 58,100 one TF embedding had in transformers#19460."""
    import torch
    from torch import nn

    m = nn.ModuleDict({"reused": nn.Linear(64, 32), "zeroed": nn.Linear(64, 32),
                       "huge": nn.Embedding(100, 32), "fine": nn.Linear(64, 32)})
    nn.init.normal_(m["reused"].weight, std=0.02, generator=torch.Generator().manual_seed(1))
    nn.init.zeros_(m["zeroed"].weight)
    nn.init.normal_(m["huge"].weight, std=58_100.0)
    return m


def lazy():
    from torch import nn

    return nn.Sequential(nn.LazyLinear(7))


def raises():
    raise RuntimeError("boom")


def not_a_module():
    return 42


def flax_mlp():
    import jax.numpy as jnp
    from flax import linen as nn

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Dense(64)(x)
            x = nn.LayerNorm()(x)
            return nn.Dense(10, kernel_init=nn.initializers.normal(0.02))(x)

    return MLP(), jnp.ones((2, 32))


def flax_seed_reused():
    from flax import linen as nn

    class Fixed(nn.Module):  # ignores the key: every instance the same
        @nn.compact
        def __call__(self, x):
            import jax

            w = self.param("w", lambda _k, s: jax.random.normal(jax.random.key(0), s), (32, 16))
            return x @ w

    return Fixed()


# --------------------------------------------------------------------------- Equinox, Haiku, Keras


def eqx_mlp(key):
    """eqx.nn.MLP at its defaults (every Linear U(±1/√fan_in), biases too), and beside it a
    Linear built from a key of its own (the same in every instance: the identical flag)."""
    import equinox as eqx
    import jax

    class Model(eqx.Module):
        mlp: eqx.nn.MLP
        fixed: eqx.nn.Linear

        def __init__(self, key):
            self.mlp = eqx.nn.MLP(32, 10, 64, 2, key=key)
            self.fixed = eqx.nn.Linear(32, 16, key=jax.random.key(0))  # ignores the key

    return Model(key)


def haiku_mlp():
    """An MLP and a LayerNorm at their defaults, and one Linear given w_init."""
    import haiku as hk
    import jax.numpy as jnp

    def forward(x):
        x = hk.nets.MLP([64, 32])(x)
        x = hk.LayerNorm(-1, True, True)(x)
        return hk.Linear(10, w_init=hk.initializers.RandomNormal(0.02))(x)

    return forward, jnp.ones((2, 32))


def haiku_batchnorm():
    """BatchNorm's moving averages are ExponentialMovingAverage modules of their own: the spec
    states them under BatchNorm (``batch_norm/~/mean_ema.counter``), the enclosing layer."""
    import haiku as hk
    import jax.numpy as jnp

    def forward(x):
        return hk.BatchNorm(True, True, 0.9)(x, is_training=True)

    return forward, jnp.ones((2, 2, 2, 16))


def keras_mlp():
    """Dense and LayerNormalization at their defaults, one Dense given a RandomNormal(0.02), and
    a MultiHeadAttention (its kernels are the spec's MultiHeadAttention entries, not Dense's)."""
    import keras

    inputs = keras.Input((8, 32))
    x = keras.layers.Dense(64)(inputs)
    x = keras.layers.LayerNormalization()(x)
    x = keras.layers.Dense(32, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))(x)
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=16)(x, x)
    return keras.Model(inputs, x)


def keras_unbuilt():
    import keras

    return keras.Sequential([keras.layers.Dense(4)])


def nnx_mlp(rngs):
    """nnx.Linear and nnx.BatchNorm at their defaults; a Linear given normal(0.02)."""
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.hidden = nnx.Linear(32, 64, rngs=rngs)
            self.norm = nnx.BatchNorm(64, rngs=rngs)
            self.out = nnx.Linear(64, 10, kernel_init=nnx.initializers.normal(0.02),
                                  rngs=rngs)

    return MLP(rngs)


def nnx_unseeded():
    from flax import nnx

    return nnx.Linear(4, 3, rngs=nnx.Rngs(0))


def flax_bad_input():
    from flax import linen as nn

    return nn.Dense(3), "not an array"


_KEPT: dict = {}


def kept_init():
    """A library that keeps ``nn.init.normal_`` from its first use (transformers 5 looks its
    init functions up once): the call must still be recorded in a later audit's builds."""
    from torch import nn

    normal = _KEPT.setdefault("normal_", nn.init.normal_)
    m = nn.Linear(64, 32)
    normal(m.weight, std=0.02)
    return m
