"""Greedy-decode latency of the PyTorch reference at batch 1, for reference next to the lab's decode timings.

A random prompt of --prompt-len tokens is prefilled, then --new-tokens tokens are generated greedily one at a
time through a KV cache: 'kv' for MHA/GQA/MQA, and for MLA 'latent' (the normalised latent is cached and K/V
re-expanded from the whole history at every step, as the original timing study did), 'full' (expanded K/V
cached) or 'absorbed' (W_UK/W_UV folded, attention on the latent); 'none' recomputes the whole prefix.
Each configuration runs --repeats times after --warmup-runs untimed runs; ms/token is the decode phase only.
The cached logits of the last run are checked against one full forward pass (cacheMaxAbsDiff).

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


def generate(model, prompt, new_tokens, mode, device):
    """Greedy decode; returns (prefill seconds, decode seconds, all tokens (1, P + n), logits (1, P + n - 1, V))."""
    t0 = bc.now(device)
    if mode == 'none':
        logits = model(prompt)
        state = None
    else:
        state = model.start_decode(mode)
        logits, state = model.decode(prompt, state)
    rows = [logits]
    ids = torch.cat([prompt, logits[:, -1:].argmax(-1)], dim=1)  # (1, P + 1)
    t1 = bc.now(device)
    for _ in range(new_tokens - 1):
        if mode == 'none':
            logits = model(ids)[:, -1:]  # (1, 1, V): the whole prefix again
        else:
            logits, state = model.decode(ids[:, -1:], state)  # (1, 1, V)
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
        if ctx < 1 or args.new_tokens < 2 or total > config['maxSeqLen'] or args.batch < 1:
            raise SystemExit('need a prompt length >= 1, --new-tokens >= 2, --batch >= 1 and prompt + new tokens (%d) <= maxSeqLen %d'
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
        for r in range(args.warmup_runs + args.repeats):
            pre, dec, ids, logits = generate(model, prompt, args.new_tokens, mode, device)
            if r >= args.warmup_runs:
                prefill.append(1000.0 * pre)
                per_token.append(1000.0 * dec / (args.new_tokens - 1))
        # The cache must not change the model: the decode's logits against one forward over the same tokens.
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
        'cacheMaxAbsDiff': diff,
        'config': config,
    }
    result.update(bc.environment(device, args))
    return result


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
