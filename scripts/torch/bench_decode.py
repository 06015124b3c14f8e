"""Greedy-decode latency of the PyTorch reference (batch 1 or more), for reference next to the lab's decode timings.

A random prompt of --prompt-len tokens is prefilled, then --new-tokens tokens are generated greedily one at a
time through a KV cache: 'kv' for MHA/GQA/MQA, and for MLA 'latent' (the normalised latent is cached and K/V
re-expanded from the whole history at every step, as the original timing study did), 'full' (expanded K/V
cached) or 'absorbed' (W_UK/W_UV folded, attention on the latent); 'none' recomputes the whole prefix.
Each configuration runs --repeats times after --warmup-runs untimed runs; ms/token is the decode phase only.
The prompt is prefilled in pieces of --prefill-tokens (batch x positions), as the lab's prefill(); the cached
logits of the last run are checked against one full forward pass (cacheMaxAbsDiff) where that fits.

  python3 scripts/torch/bench_decode.py --preset small-mha-norope --threads 2
  python3 scripts/torch/bench_decode.py --preset 35m-mla-rope --cache all --contexts 512,2048 --set maxSeqLen=4096 \
      --new-tokens 24 --batch 1 --threads 2 --out torch-decode.jsonl     # every mode and context, one JSON line each,
                                                                         # the points `mla bench decode` measures
  python3 scripts/torch/bench_decode.py --preset small-mla-norope --cache latent --prompt-len 100 --new-tokens 100
"""
import argparse
import json
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_common as bc
from mla_torch import CACHE_MODES, GPT, init_original


def prefill(model, prompt, state, tokens_per_call, keep_all):
    """Feeds prompt (B, P) into state in pieces of max(1, tokens_per_call // B) positions, as the lab's prefill():
    one call at batch 64 and 32k tokens would hold (B, P, V) logits of 84 GB. Returns the logits kept, all of them
    (B, P, V) when keep_all (for the check against a full forward), else the last position's (B, 1, V)."""
    B, P = prompt.shape
    piece = max(1, tokens_per_call // B)
    kept, last = [], None
    for start in range(0, P, piece):
        logits, state = model.decode(prompt[:, start:start + piece], state)  # (B, t, V)
        if keep_all:
            kept.append(logits)
        else:
            last = logits[:, -1:].clone()  # a copy: a view would keep the piece's whole (B, t, V) alive
    return (torch.cat(kept, dim=1) if keep_all else last), state


# Tokens of a tiled prefill that are prefilled for real (the lab's TILE_SEED_TOKENS, lib/generate/prefill.ts).
TILE_SEED_TOKENS = 256


def tiled_prefill(model, prompt, state, tokens_per_call, seed_tokens=TILE_SEED_TOKENS):
    """For a decode timing, as the lab's tiledPrefill(): prefills the first seed_tokens positions for real, then
    repeats every cached tensor's rows along time (axis 2 of each) up to the prompt's length P, so the next step
    reads as many rows of the same shapes and does the same work (its logits are not the prompt's). Returns the
    seed's last-position logits (B, 1, V) and the state at length P."""
    B, P = prompt.shape
    if P <= seed_tokens:
        return prefill(model, prompt, state, tokens_per_call, False)
    logits, state = prefill(model, prompt[:, :seed_tokens], state, tokens_per_call, False)
    reps = -(-P // seed_tokens)
    layers = [{k: (v if k == 'mode' else v.repeat(1, 1, reps, 1)[:, :, :P].contiguous()) for k, v in layer.items()}
              for layer in state['layers']]  # each (B, X, P, W)
    return logits, {'mode': state['mode'], 'length': P, 'layers': layers}


def generate(model, prompt, new_tokens, mode, device, tokens_per_call, keep_all, tiled=False):
    """Greedy decode; returns (prefill seconds, decode seconds, all tokens (B, P + n), logits (B, P + n - 1, V) when
    keep_all, else only the decode steps' (B, n, V) with the prompt's last position first). tiled: the cache is
    filled by tiled_prefill (timing only; never with keep_all)."""
    t0 = bc.now(device)
    if mode == 'none':
        logits = model(prompt)
        logits = logits if keep_all else logits[:, -1:]
        state = None
    elif tiled:
        logits, state = tiled_prefill(model, prompt, model.start_decode(mode), tokens_per_call)
    else:
        logits, state = prefill(model, prompt, model.start_decode(mode), tokens_per_call, keep_all)
    rows = [logits]
    ids = torch.cat([prompt, logits[:, -1:].argmax(-1)], dim=1)  # (B, P + 1)
    t1 = bc.now(device)
    for _ in range(new_tokens - 1):
        if mode == 'none':
            logits = model(ids)[:, -1:]  # (B, 1, V): the whole prefix again
        else:
            logits, state = model.decode(ids[:, -1:], state)  # (B, 1, V)
        rows.append(logits)
        ids = torch.cat([ids, logits.argmax(-1)], dim=1)
    t2 = bc.now(device)
    return t1 - t0, t2 - t1, ids, torch.cat(rows, dim=1)


def main(argv):
    ap = argparse.ArgumentParser(prog='bench_decode.py', description=__doc__.split('\n')[0])
    bc.add_model_args(ap)
    ap.add_argument('--cache', default=None, help="cache mode (default: the model's compact one); 'none' for no cache; "
                                                  "a comma-separated list, or 'all' (none and every mode of the attention)")
    ap.add_argument('--prompt-len', type=int, default=100)
    ap.add_argument('--contexts', default=None, help='comma-separated prompt lengths, each a run (instead of --prompt-len)')
    ap.add_argument('--batch', type=int, default=1, help='sequences decoded together (default 1)')
    ap.add_argument('--out', default=None, help='append one JSON line per (mode, context) to this file (default: print)')
    ap.add_argument('--new-tokens', type=int, default=100)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--warmup-runs', type=int, default=1)
    ap.add_argument('--prefill-tokens', type=int, default=2048,
                    help='tokens (batch x positions) per prefill call, as the lab prefills (default 2048)')
    ap.add_argument('--prefill', choices=['real', 'tiled'], default='real',
                    help="real: prefill the whole prompt (default); tiled: prefill its first %d tokens and repeat their "
                         "cached rows to the prompt's length, as the lab's --prefill tiled (timing only; no cache check)"
                         % TILE_SEED_TOKENS)
    ap.add_argument('--check-max-tokens', type=int, default=1 << 16,
                    help='check the cached logits against a full forward only up to batch x (prompt + new) tokens '
                         '(default 65536; above it cacheMaxAbsDiff is null)')
    args = ap.parse_args(argv)

    config, preset = bc.load_config(args)
    allowed = CACHE_MODES[config['attention']]
    if args.cache == 'all':
        modes = ['none'] + list(allowed)
    else:
        modes = (args.cache or allowed[0]).split(',')
    for mode in modes:
        if mode != 'none' and mode not in allowed:
            raise SystemExit("--cache %s does not apply to attention %r; allowed: none, %s (or all)"
                             % (mode, config['attention'], ', '.join(allowed)))
    contexts = [int(c) for c in args.contexts.split(',')] if args.contexts else [args.prompt_len]
    for ctx in contexts:
        total = ctx + args.new_tokens
        if ctx < 1 or args.new_tokens < 2 or total > config['maxSeqLen'] or args.batch < 1 or args.prefill_tokens < 1:
            raise SystemExit('need a prompt length >= 1, --new-tokens >= 2, --batch >= 1, --prefill-tokens >= 1 and prompt + new tokens (%d) <= maxSeqLen %d'
                             ' (RoPE models: --set maxSeqLen=N)' % (total, config['maxSeqLen']))
    device = bc.setup_device(args)
    model = init_original(GPT(config, args.attn_impl), seed=args.seed).to(device).eval()
    for mode in modes:
        for ctx in contexts:
            result = measure(model, config, preset, mode, ctx, args, device)
            if args.out:
                with open(args.out, 'a') as f:
                    f.write(json.dumps(result) + '\n')
                sys.stderr.write('%s %s @%d B%d: %.2f ms/token (min %.2f)\n' % (preset, mode, ctx, args.batch,
                                 result['msPerToken']['median'], result['msPerToken']['min']))
            else:
                bc.emit(result)
    return 0


def measure(model, config, preset, mode, prompt_len, args, device):
    """One (mode, context) point: --warmup-runs untimed generations, then --repeats timed ones."""
    g = torch.Generator().manual_seed(args.seed)
    prompt = torch.randint(0, config['vocabSize'], (args.batch, prompt_len), generator=g).to(device)  # (B, P)
    prefill, per_token = [], []
    with torch.no_grad():
        # The check needs every position's logits and one full forward: only where they fit (--check-max-tokens).
        check = args.prefill == 'real' and args.batch * (prompt_len + args.new_tokens) <= args.check_max_tokens
        for r in range(args.warmup_runs + args.repeats):
            pre, dec, ids, logits = generate(model, prompt, args.new_tokens, mode, device, args.prefill_tokens, check,
                                             args.prefill == 'tiled')
            if r >= args.warmup_runs:
                prefill.append(1000.0 * pre)
                per_token.append(1000.0 * dec / (args.new_tokens - 1))
        # The cache must not change the model: the decode's logits against one forward over the same tokens.
        diff = None
        if check:
            full = model(ids[:, :-1])  # (B, P + n - 1, V)
            diff = (full - logits).abs().max().item()

    result = {
        'bench': 'decode',
        'preset': preset,
        'attention': config['attention'],
        'positions': config['positions'],
        'cache': mode,
        'attnImpl': model.attn_impl,
        'batch': args.batch,
        'promptLen': prompt_len,
        'newTokens': args.new_tokens,
        'repeats': args.repeats,
        # Per step: each step decodes one token for each of the B sequences.
        'msPerToken': bc.spread(per_token),
        'prefillMs': bc.spread(prefill),
        'cacheMaxAbsDiff': diff,  # None: not checked (batch × tokens above --check-max-tokens)
        'prefillTokensPerCall': args.prefill_tokens,
        'prefill': args.prefill,
        'config': config,
    }
    result.update(bc.environment(device, args))
    return result


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
