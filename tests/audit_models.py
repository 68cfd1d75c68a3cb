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


def seed_reused():
    import torch
    from torch import nn

    torch.manual_seed(1234)  # every instance draws the same values
    return nn.Linear(64, 32)


def zero_weight():
    from torch import nn

    m = nn.Linear(64, 32)
    nn.init.zeros_(m.weight)
    return m


def huge_std():
    """One TF embedding in transformers#19460 was drawn with a std of 58,100."""
    from torch import nn

    m = nn.Embedding(100, 32)
    nn.init.normal_(m.weight, std=58_100.0)
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
