"""An independent PyTorch implementation of MLA Lab's GPT, for cross-checking the TypeScript model and as a
speed baseline. Written from the lab's spec (lib/config, lib/costs/params.ts, lib/model, lib/attention), in the
form natural to PyTorch: nn.Linear (weights stored (out, in), so checkpoint matrices are transposed on load),
nn.LayerNorm, scaled_dot_product_attention where the running torch has it.

Model: token embedding (+ learned positions), L pre-LayerNorm blocks x + attn(LN1(x)), x + dropout(MLP(LN2(x))),
MLP C -> 4C -> ReLU -> C, no final LayerNorm, untied output head with a bias. Attention is causal, scaled by
1/sqrt(D) for every kind (D the full head dim, also when a head is split into no-RoPE and RoPE parts).
MLA's latents pass through a LayerNorm unless the config says latentNorm 'none' (models converted from MHA);
MHA/GQA/MQA with 0 < ropeDim < D rotate only the last ropeDim dims of each head (partial RoPE).

Runs on torch 1.13 (CPU, no SDPA) and torch 2.x (CPU or CUDA).
Shape legend: B batch, T new tokens, S tokens in the cache, C model dim, H heads, Hk KV heads, D head dim,
N no-RoPE dims of a head, R RoPE dims, Rq/Rkv MLA latent ranks, V vocabulary.

CLI: python3 mla_torch.py logits --checkpoint F.safetensors --ids 1,2,3 [--cache MODE] [--dtype float64]
"""
import argparse
import json
import math
import re
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from safetensors_io import CheckpointError, read_safetensors

CHECKPOINT_FORMAT = 'mla-lab/1'
ATTENTION_KINDS = ('mha', 'gqa', 'mqa', 'mla', 'mha-decoupled-rope')
POSITION_KINDS = ('learned', 'rope')
LATENT_NORMS = ('layernorm', 'none')  # MLA's config.latentNorm; absent means 'layernorm'
# Cache layouts per attention kind, as lib/costs/cache-modes.ts names them ('none' = recompute every prefix).
CACHE_MODES = {
    'mha': ('kv',), 'gqa': ('kv',), 'mqa': ('kv',),
    'mha-decoupled-rope': ('kv', 'full'),
    'mla': ('latent', 'absorbed', 'full'),
}
CONFIG_KEYS = ('vocabSize', 'maxSeqLen', 'dModel', 'nLayers', 'mlpRatio', 'dropout', 'attention', 'nHeads',
               'nKvHeads', 'qRank', 'kvRank', 'positions', 'ropeDim', 'ropeTheta')
HAS_SDPA = hasattr(F, 'scaled_dot_product_attention')


class ConfigError(ValueError):
    pass


class Sizes(object):
    """Sizes derived from a config (the lab's deriveSizes)."""

    def __init__(self, c):
        missing = [k for k in CONFIG_KEYS if k not in c]
        if missing:
            raise ConfigError('config lacks %s; pass the `config` object of `mla info --json` or a checkpoint'
                              % ', '.join(missing))
        if c['attention'] not in ATTENTION_KINDS:
            raise ConfigError('config attention = %r; allowed: %s' % (c['attention'], ', '.join(ATTENTION_KINDS)))
        if c['positions'] not in POSITION_KINDS:
            raise ConfigError('config positions = %r; allowed: %s' % (c['positions'], ', '.join(POSITION_KINDS)))
        if c['dModel'] % c['nHeads']:
            raise ConfigError('config nHeads = %d must divide dModel = %d' % (c['nHeads'], c['dModel']))
        latent_norm = c.get('latentNorm', 'layernorm')
        if latent_norm not in LATENT_NORMS:
            raise ConfigError('config latentNorm = %r; allowed: %s' % (latent_norm, ', '.join(LATENT_NORMS)))
        if 'latentNorm' in c and c['attention'] != 'mla':
            raise ConfigError("config latentNorm = %r; only MLA has latents, leave it out for attention %r"
                              % (latent_norm, c['attention']))
        decoupled = c['attention'] in ('mla', 'mha-decoupled-rope')
        rope = c['positions'] == 'rope'
        self.head_dim = c['dModel'] // c['nHeads']
        self.kv_heads = c['nHeads'] if decoupled else c['nKvHeads']
        if c['nHeads'] % self.kv_heads:
            raise ConfigError('config nKvHeads = %d must divide nHeads = %d' % (self.kv_heads, c['nHeads']))
        self.group_size = c['nHeads'] // self.kv_heads
        # The MHA family's ropeDim 0 (or D) rotates the whole head; 0 < ropeDim < D only its last ropeDim dims.
        partial = rope and not decoupled and 0 < c['ropeDim'] < self.head_dim
        self.rotary_dim = 0 if not rope else (c['ropeDim'] if decoupled or partial else self.head_dim)
        self.nope_dim = self.head_dim - self.rotary_dim if decoupled or partial else self.head_dim
        self.mlp_hidden = c['mlpRatio'] * c['dModel']
        self.learned_positions = not rope
        self.latent_norm = c['attention'] == 'mla' and latent_norm == 'layernorm'


class Rope(nn.Module):
    """Rotate-half RoPE on sub-heads of r dims; frequencies theta^(-2i/D) from the full head dim D, first r/2 used."""

    def __init__(self, rotary_dim, head_dim, theta, max_len):
        super(Rope, self).__init__()
        i = torch.arange(rotary_dim // 2, dtype=torch.float64)
        inv_freq = theta ** (-2.0 * i / head_dim)  # (r/2,)
        angles = torch.arange(max_len, dtype=torch.float64)[:, None] * inv_freq[None, :]  # (maxT, r/2)
        angles = torch.cat([angles, angles], dim=-1)  # (maxT, r): dims i and i + r/2 share an angle
        # Angles in float64, rounded once; the tables follow the model's dtype through .to().
        self.register_buffer('cos', angles.cos().float(), persistent=False)
        self.register_buffer('sin', angles.sin().float(), persistent=False)

    def forward(self, x, start):
        """x (..., T, r) with time on axis -2, positions start .. start + T - 1."""
        t = x.shape[-2]
        if start + t > self.cos.shape[0]:
            raise ValueError('position %d is beyond maxSeqLen %d' % (start + t - 1, self.cos.shape[0]))
        cos, sin = self.cos[start:start + t], self.sin[start:start + t]  # (T, r)
        x1, x2 = x.chunk(2, dim=-1)
        return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def causal_attention(q, k, v, q_start, scale, impl):
    """softmax(q kᵀ·scale + causal mask) v. q (B, H, T, d); k (B, H|1, S, d); v (B, H|1, S, dv) -> (B, H, T, dv).

    Query i sits at absolute position q_start + i and sees keys 0 .. q_start + i."""
    t, s = q.shape[-2], k.shape[-2]
    same_heads = k.shape[1] == q.shape[1] and v.shape[1] == q.shape[1]
    default_scale = abs(scale - 1.0 / math.sqrt(q.shape[-1])) < 1e-12
    if impl == 'sdpa' and same_heads and default_scale:
        if q_start == 0 and t == s:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        if t == 1 and q_start + 1 == s:  # one decode step sees the whole cache: no mask
            return F.scaled_dot_product_attention(q, k, v)
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale  # (B, H, T, S); a (B, 1, S, d) key broadcasts
    keep = torch.arange(s, device=q.device)[None, :] <= q_start + torch.arange(t, device=q.device)[:, None]  # (T, S)
    scores = scores.masked_fill(~keep, float('-inf'))
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def split_heads(x, heads):
    """(B, T, heads·d) -> (B, heads, T, d)."""
    b, t, hd = x.shape
    return x.reshape(b, t, heads, hd // heads).transpose(1, 2)


def merge_heads(x):
    """(B, H, T, d) -> (B, T, H·d)."""
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


def append(cache, name, new):
    """Cache tensors grow along time (axis 2)."""
    old = cache.get(name)
    return new if old is None else torch.cat([old, new], dim=2)


class MhaFamily(nn.Module):
    """MHA, GQA, MQA: one module parameterised by Hk; query head h reads KV head h // (H / Hk).
    RoPE on the whole head, or on its last R dims only (partial RoPE: [no-RoPE N | RoPE R], as MLA's query heads).
    Cache 'kv': k (B, Hk, S, D) already rotated, v (B, Hk, S, D)."""

    def __init__(self, c, s, impl):
        super(MhaFamily, self).__init__()
        C, H, D = c['dModel'], c['nHeads'], s.head_dim
        self.H, self.Hk, self.G, self.D, self.N, self.impl = H, s.kv_heads, s.group_size, D, s.nope_dim, impl
        self.w_q = nn.Linear(C, H * D, bias=False)
        self.w_k = nn.Linear(C, s.kv_heads * D, bias=False)
        self.w_v = nn.Linear(C, s.kv_heads * D, bias=False)
        self.w_o = nn.Linear(H * D, C, bias=False)

    def forward(self, x, rope, start=0, cache=None):
        q = split_heads(self.w_q(x), self.H)  # (B, H, T, D)
        k = split_heads(self.w_k(x), self.Hk)  # (B, Hk, T, D)
        v = split_heads(self.w_v(x), self.Hk)  # (B, Hk, T, D)
        if rope is not None:
            q, k = self.rotate(q, rope, start), self.rotate(k, rope, start)
        if cache is not None:
            cache = {'mode': 'kv', 'k': append(cache, 'k', k), 'v': append(cache, 'v', v)}  # (B, Hk, S, D)
            k, v = cache['k'], cache['v']
        if self.G > 1:
            # Adjacent query heads share a KV head, which repeat_interleave lays out.
            k, v = k.repeat_interleave(self.G, dim=1), v.repeat_interleave(self.G, dim=1)  # (B, H, S, D)
        o = causal_attention(q, k, v, start, 1.0 / math.sqrt(self.D), self.impl)
        return self.w_o(merge_heads(o)), cache

    def rotate(self, t, rope, start):
        """t (B, H|Hk, T, D): RoPE on all D dims, or on the last D - N with the first N left as they are."""
        if self.N == self.D:
            return rope(t, start)
        return torch.cat([t[..., :self.N], rope(t[..., self.N:], start)], dim=-1)


class MhaDecoupledRope(nn.Module):
    """MHA with decoupled RoPE: Q and V from one projection, K = [per-head no-RoPE part | one shared RoPE key].
    Caches: 'kv' k_nope (B, H, S, N), k_rope (B, 1, S, R), v (B, H, S, D); 'full' k (B, H, S, D), v."""

    def __init__(self, c, s, impl):
        super(MhaDecoupledRope, self).__init__()
        C, H, D = c['dModel'], c['nHeads'], s.head_dim
        self.H, self.D, self.N, self.R, self.impl = H, D, s.nope_dim, s.rotary_dim, impl
        self.w_qv = nn.Linear(C, 2 * H * D, bias=False)
        self.w_k = nn.Linear(C, H * s.nope_dim + s.rotary_dim, bias=False)
        self.w_o = nn.Linear(H * D, C, bias=False)

    def forward(self, x, rope, start=0, cache=None):
        H, N, R = self.H, self.N, self.R
        q, v = [split_heads(p, H) for p in self.w_qv(x).chunk(2, dim=-1)]  # (B, H, T, D) each
        k_nope, k_rope = self.w_k(x).split([H * N, R], dim=-1)
        k_nope = split_heads(k_nope, H)  # (B, H, T, N)
        k_rope = rope(k_rope.unsqueeze(1), start)  # (B, 1, T, R): one key for all heads
        q_nope, q_rope = q.split([N, R], dim=-1)
        q = torch.cat([q_nope, rope(q_rope, start)], dim=-1)  # (B, H, T, D)
        mode = None if cache is None else cache.get('mode', 'kv')
        if mode == 'full':
            k = torch.cat([k_nope, k_rope.expand(-1, H, -1, -1)], dim=-1)
            cache = {'mode': mode, 'k': append(cache, 'k', k), 'v': append(cache, 'v', v)}
            k, v = cache['k'], cache['v']
        else:
            if mode == 'kv':
                cache = {'mode': mode, 'k_nope': append(cache, 'k_nope', k_nope),
                         'k_rope': append(cache, 'k_rope', k_rope), 'v': append(cache, 'v', v)}
                k_nope, k_rope, v = cache['k_nope'], cache['k_rope'], cache['v']
            k = torch.cat([k_nope, k_rope.expand(-1, H, -1, -1)], dim=-1)  # (B, H, S, D)
        o = causal_attention(q, k, v, start, 1.0 / math.sqrt(self.D), self.impl)
        return self.w_o(merge_heads(o)), cache


class Mla(nn.Module):
    """Multi-head Latent Attention, with decoupled RoPE when R > 0.
      queries:     x -> w_dq -> LayerNorm -> w_uq -> per head [no-RoPE N | RoPE R]
      keys/values: x -> w_dkv -> [latent Rkv | shared RoPE key R]; latent -> LayerNorm -> w_ukv -> [K_nope H·N | V H·D]
    With latentNorm 'none' both LayerNorms are identities and the checkpoint holds no q_norm / kv_norm tensors.
    Caches: 'latent'/'absorbed' latent (B, S, Rkv) after LayerNorm and k_rope (B, 1, S, R), re-expanded every
    step ('latent') or attended directly with W_UK folded into the queries and W_UV into the output ('absorbed');
    'full' the expanded k (B, H, S, D) and v (B, H, S, D)."""

    def __init__(self, c, s, impl):
        super(Mla, self).__init__()
        C, H, D = c['dModel'], c['nHeads'], s.head_dim
        self.H, self.D, self.N, self.R, self.Rkv, self.impl = H, D, s.nope_dim, s.rotary_dim, c['kvRank'], impl
        self.w_dq = nn.Linear(C, c['qRank'], bias=False)
        self.q_norm = nn.LayerNorm(c['qRank'], eps=1e-5) if s.latent_norm else nn.Identity()
        self.w_uq = nn.Linear(c['qRank'], H * D, bias=False)
        self.w_dkv = nn.Linear(C, c['kvRank'] + s.rotary_dim, bias=False)
        self.kv_norm = nn.LayerNorm(c['kvRank'], eps=1e-5) if s.latent_norm else nn.Identity()
        self.w_ukv = nn.Linear(c['kvRank'], H * s.nope_dim + H * D, bias=False)
        self.w_o = nn.Linear(H * D, C, bias=False)

    def expand(self, latent):
        """latent (B, S, Rkv) -> k_nope (B, H, S, N), v (B, H, S, D)."""
        k_nope, v = self.w_ukv(latent).split([self.H * self.N, self.H * self.D], dim=-1)
        return split_heads(k_nope, self.H), split_heads(v, self.H)

    def forward(self, x, rope, start=0, cache=None):
        H, N, R, D, Rkv = self.H, self.N, self.R, self.D, self.Rkv
        scale = 1.0 / math.sqrt(D)
        q = split_heads(self.w_uq(self.q_norm(self.w_dq(x))), H)  # (B, H, T, D)
        dkv = self.w_dkv(x)  # (B, T, Rkv + R)
        latent = self.kv_norm(dkv[..., :Rkv])  # (B, T, Rkv)
        q_nope, q_rope, k_rope = q, None, None
        if R:
            q_nope, q_rope = q.split([N, R], dim=-1)
            q_rope = rope(q_rope, start)  # (B, H, T, R)
            k_rope = rope(dkv[..., Rkv:].unsqueeze(1), start)  # (B, 1, T, R), shared by all heads
        mode = None if cache is None else cache.get('mode', 'latent')
        if mode == 'full':
            k_nope, v = self.expand(latent)
            k = k_nope if not R else torch.cat([k_nope, k_rope.expand(-1, H, -1, -1)], dim=-1)  # (B, H, T, D)
            cache = {'mode': mode, 'k': append(cache, 'k', k), 'v': append(cache, 'v', v)}
            q = q_nope if not R else torch.cat([q_nope, q_rope], dim=-1)
            o = causal_attention(q, cache['k'], cache['v'], start, scale, self.impl)
            return self.w_o(merge_heads(o)), cache
        if mode is not None:
            # The latent is cached with a head axis of 1, time on axis 2, like every other cache tensor.
            old, cache = cache, {'mode': mode, 'latent': append(cache, 'latent', latent.unsqueeze(1))}
            if R:
                cache['k_rope'] = append(old, 'k_rope', k_rope)
            latent, k_rope = cache['latent'].squeeze(1), cache.get('k_rope')  # (B, S, Rkv), (B, 1, S, R)
        if mode == 'absorbed':
            return self.absorbed(q_nope, q_rope, latent, k_rope, start), cache
        k_nope, v = self.expand(latent)
        k = k_nope if not R else torch.cat([k_nope, k_rope.expand(-1, H, -1, -1)], dim=-1)  # (B, H, S, D)
        q = q_nope if not R else torch.cat([q_nope, q_rope], dim=-1)
        o = causal_attention(q, k, v, start, scale, self.impl)
        return self.w_o(merge_heads(o)), cache

    def absorbed(self, q_nope, q_rope, latent, k_rope, start):
        """Attention straight against the latent: q_nope·(latent W_UK)ᵀ = (q_nope W_UK)·latentᵀ per head, and
        the values stay latent until W_UV is applied once per head to the weighted sum."""
        H, N, D, Rkv = self.H, self.N, self.D, self.Rkv
        w_uk, w_uv = self.w_ukv.weight.split([H * N, H * D], dim=0)  # (H·N, Rkv), (H·D, Rkv): torch's (out, in)
        q_lat = torch.einsum('bhtn,hnr->bhtr', q_nope, w_uk.view(H, N, Rkv))  # (B, H, T, Rkv)
        lat = latent.unsqueeze(1)  # (B, 1, S, Rkv), broadcast over heads
        q = q_lat if q_rope is None else torch.cat([q_lat, q_rope], dim=-1)
        k = lat if k_rope is None else torch.cat([lat, k_rope], dim=-1)
        o_lat = causal_attention(q, k, lat, start, 1.0 / math.sqrt(D), 'manual')  # (B, H, T, Rkv)
        o = torch.einsum('bhtr,hdr->bhtd', o_lat, w_uv.view(H, D, Rkv))  # (B, H, T, D)
        return self.w_o(merge_heads(o))


ATTENTION_MODULES = {'mha': MhaFamily, 'gqa': MhaFamily, 'mqa': MhaFamily, 'mla': Mla,
                     'mha-decoupled-rope': MhaDecoupledRope}


class Mlp(nn.Module):
    def __init__(self, c, s):
        super(Mlp, self).__init__()
        self.w_in = nn.Linear(c['dModel'], s.mlp_hidden)
        self.w_out = nn.Linear(s.mlp_hidden, c['dModel'])

    def forward(self, x):
        return self.w_out(F.relu(self.w_in(x)))


class Block(nn.Module):
    def __init__(self, c, s, impl):
        super(Block, self).__init__()
        self.ln1 = nn.LayerNorm(c['dModel'], eps=1e-5)
        self.attn = ATTENTION_MODULES[c['attention']](c, s, impl)
        self.ln2 = nn.LayerNorm(c['dModel'], eps=1e-5)
        self.mlp = Mlp(c, s)
        self.drop = nn.Dropout(c['dropout'])  # the original's only dropout: after the MLP

    def forward(self, x, rope, start, cache):
        a, cache = self.attn(self.ln1(x), rope, start, cache)
        x = x + a
        return x + self.drop(self.mlp(self.ln2(x))), cache


class GPT(nn.Module):
    def __init__(self, config, attn_impl='auto'):
        """attn_impl: 'sdpa' (torch >= 2.0's fused attention), 'manual' (matmul + softmax), 'auto' (sdpa if any)."""
        super(GPT, self).__init__()
        if attn_impl == 'auto':
            attn_impl = 'sdpa' if HAS_SDPA else 'manual'
        if attn_impl == 'sdpa' and not HAS_SDPA:
            raise ConfigError('attn_impl sdpa needs torch >= 2.0 (this is %s); use manual' % torch.__version__)
        c = config
        s = Sizes(c)
        self.config, self.sizes, self.attn_impl = c, s, attn_impl
        self.tok_emb = nn.Embedding(c['vocabSize'], c['dModel'])
        self.pos_emb = nn.Embedding(c['maxSeqLen'], c['dModel']) if s.learned_positions else None
        self.rope = Rope(s.rotary_dim, s.head_dim, c['ropeTheta'], c['maxSeqLen']) if s.rotary_dim else None
        self.blocks = nn.ModuleList([Block(c, s, attn_impl) for _ in range(c['nLayers'])])
        self.head = nn.Linear(c['dModel'], c['vocabSize'])

    def _run(self, ids, start, caches):
        T = ids.shape[1]
        if start + T > self.config['maxSeqLen']:
            raise ValueError('sequence reaches position %d, beyond maxSeqLen %d' % (start + T - 1, self.config['maxSeqLen']))
        x = self.tok_emb(ids)  # (B, T, C)
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(start, start + T, device=ids.device))
        out = []
        for i, block in enumerate(self.blocks):
            x, cache = block(x, self.rope, start, None if caches is None else caches[i])
            out.append(cache)
        return self.head(x), out  # (B, T, V)

    def forward(self, ids):
        """ids (B, T) int64 -> logits (B, T, V)."""
        return self._run(ids, 0, None)[0]

    def start_decode(self, mode):
        allowed = CACHE_MODES[self.config['attention']]
        if mode not in allowed:
            raise ConfigError("cache mode %r does not apply to attention %r; allowed: %s"
                              % (mode, self.config['attention'], ', '.join(allowed)))
        return {'mode': mode, 'length': 0, 'layers': [{'mode': mode} for _ in self.blocks]}

    def decode(self, ids, state):
        """Feeds ids (B, t) after state['length'] tokens; returns logits (B, t, V) and the next state."""
        logits, layers = self._run(ids, state['length'], state['layers'])
        return logits, {'mode': state['mode'], 'length': state['length'] + ids.shape[1], 'layers': layers}


def init_original(model, seed=0, std=0.01):
    """The original's initialisation: weights and embeddings std·N(0, 1), biases 0, LayerNorm gains 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()
            elif isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * std)
                if getattr(m, 'bias', None) is not None:
                    m.bias.zero_()
    return model


def torch_key(name):
    """A checkpoint tensor name -> (state_dict key, whether the matrix is transposed).
    The lab stores linear weights (in, out) for y = x·W; nn.Linear keeps (out, in)."""
    if name in ('tok_emb', 'pos_emb'):
        return name + '.weight', False
    if name == 'head.weight':
        return name, True
    m = re.match(r'^(blocks\.\d+\.mlp\.)b_(in|out)$', name)
    if m:
        return m.group(1) + 'w_' + m.group(2) + '.bias', False
    if re.match(r'^blocks\.\d+\.(attn|mlp)\.w_\w+$', name):
        return name + '.weight', True
    return name, False  # LayerNorm gains and biases, head.bias


def config_from_metadata(path, metadata):
    if metadata.get('format') != CHECKPOINT_FORMAT:
        raise CheckpointError('%s has format %r in its metadata; expected %r (was it written by mla-lab?)'
                              % (path, metadata.get('format'), CHECKPOINT_FORMAT))
    try:
        return json.loads(metadata['config'])
    except (KeyError, ValueError):
        raise CheckpointError('%s has no valid JSON model config in __metadata__.config' % path)


def load_checkpoint(path, attn_impl='auto'):
    """Reads a lab checkpoint -> (config dict, GPT in eval mode holding its weights)."""
    tensors, metadata = read_safetensors(path)
    config = config_from_metadata(path, metadata)
    model = GPT(config, attn_impl)
    state = model.state_dict()
    loaded = {}
    for name, t in tensors.items():
        key, transpose = torch_key(name)
        if key not in state:
            raise CheckpointError('%s holds tensor %r, which a %s model does not have' % (path, name, config['attention']))
        t = t.t() if transpose else t
        if tuple(t.shape) != tuple(state[key].shape):
            raise CheckpointError('%s: tensor %r has shape %s, expected %s'
                                  % (path, name, list(tensors[name].shape), list(state[key].shape)[::-1 if transpose else 1]))
        loaded[key] = t.to(state[key].dtype)
    missing = sorted(set(state) - set(loaded))
    if missing:
        raise CheckpointError('%s lacks tensors for %s' % (path, ', '.join(missing)))
    model.load_state_dict(loaded)
    return config, model.eval()


def parse_ids(text):
    try:
        ids = [int(x) for x in text.split(',') if x.strip() != '']
    except ValueError:
        raise SystemExit('logits: --ids must be comma-separated integers, e.g. --ids 1,2,3; got %r' % text)
    if not ids:
        raise SystemExit('logits: --ids is empty; give e.g. --ids 1,2,3')
    return ids


def logits_for(path, ids, cache='none', dtype=torch.float32, attn_impl='auto', device='cpu'):
    """Logits (T, V) of one sequence, by one forward pass (cache 'none') or token by token through a cache."""
    config, model = load_checkpoint(path, attn_impl)
    model = model.to(device=device, dtype=dtype)
    bad = [i for i in ids if not 0 <= i < config['vocabSize']]
    if bad:
        raise SystemExit('logits: token id %d is outside the vocabulary 0..%d of %s' % (bad[0], config['vocabSize'] - 1, path))
    x = torch.tensor([ids], dtype=torch.long, device=device)  # (1, T)
    with torch.no_grad():
        if cache == 'none':
            return model(x)[0]
        state, rows = model.start_decode(cache), []
        for t in range(len(ids)):  # one token at a time through the cache, like `mla logits --cache`
            out, state = model.decode(x[:, t:t + 1], state)
            rows.append(out[0])
        return torch.cat(rows, dim=0)  # (T, V)


def main(argv):
    ap = argparse.ArgumentParser(prog='mla_torch.py', description='PyTorch reference of the MLA Lab GPT')
    sub = ap.add_subparsers(dest='cmd')
    lg = sub.add_parser('logits', help='logits at every position, one JSON line per checkpoint')
    lg.add_argument('--checkpoint', action='append', required=True, help='a lab .safetensors file; repeat for several')
    lg.add_argument('--ids', required=True, help='comma-separated token ids')
    lg.add_argument('--cache', default='none', help='none (one forward) or a cache mode of the model')
    lg.add_argument('--dtype', default='float32', choices=['float32', 'float64'])
    lg.add_argument('--attn-impl', default='auto', choices=['auto', 'sdpa', 'manual'])
    lg.add_argument('--device', default='cpu', help='cpu or cuda')
    lg.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: torch default)')
    lg.add_argument('--json', action='store_true', help='accepted for symmetry with `mla logits`; output is always JSON')
    args = ap.parse_args(argv)
    if args.cmd != 'logits':
        ap.print_help()
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    ids = parse_ids(args.ids)
    dtype = torch.float64 if args.dtype == 'float64' else torch.float32
    for path in args.checkpoint:
        try:
            logits = logits_for(path, ids, args.cache, dtype, args.attn_impl, args.device)
        except (CheckpointError, ConfigError) as e:
            sys.stderr.write('%s: %s\n' % (type(e).__name__, e))
            return 1
        print(json.dumps({'checkpoint': path, 'cache': args.cache, 'ids': ids, 'logits': logits.cpu().tolist()}))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
