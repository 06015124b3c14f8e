"""Greedy-decode latency of the PyTorch reference at batch 1, for reference next to the lab's decode timings.

A random prompt of --prompt-len tokens is prefilled, then --new-tokens tokens are generated greedily one at a
time through a KV cache: 'kv' for MHA/GQA/MQA, and for MLA 'latent' (the normalised latent is cached and K/V
re-expanded from the whole history at every step, as the original timing study did), 'full' (expanded K/V
cached) or 'absorbed' (W_UK/W_UV folded, attention on the latent); 'none' recomputes the whole prefix.
Each configuration runs --repeats times after --warmup-runs untimed runs; ms/token is the decode phase only.
The cached logits of the last run are checked against one full forward pass (cacheMaxAbsDiff).

  python3 scripts/torch/bench_decode.py --preset small-mha-norope --threads 2
  python3 scripts/torch/bench_decode.py --preset small-mla-norope --cache latent --prompt-len 100 --new-tokens 100
"""
import argparse
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
    ap.add_argument('--cache', default=None, help="cache mode (default: the model's compact one); 'none' for no cache")
    ap.add_argument('--prompt-len', type=int, default=100)
    ap.add_argument('--new-tokens', type=int, default=100)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--warmup-runs', type=int, default=1)
    args = ap.parse_args(argv)

    config, preset = bc.load_config(args)
    mode = args.cache or CACHE_MODES[config['attention']][0]
    if mode != 'none' and mode not in CACHE_MODES[config['attention']]:
        raise SystemExit("--cache %s does not apply to attention %r; allowed: none, %s"
                         % (mode, config['attention'], ', '.join(CACHE_MODES[config['attention']])))
    total = args.prompt_len + args.new_tokens
    if args.prompt_len < 1 or args.new_tokens < 2 or total > config['maxSeqLen']:
        raise SystemExit('need --prompt-len >= 1, --new-tokens >= 2 and their sum (%d) <= maxSeqLen %d'
                         % (total, config['maxSeqLen']))
    device = bc.setup_device(args)
    model = init_original(GPT(config, args.attn_impl), seed=args.seed).to(device).eval()
    g = torch.Generator().manual_seed(args.seed)
    prompt = torch.randint(0, config['vocabSize'], (1, args.prompt_len), generator=g).to(device)  # (1, P)

    prefill, per_token = [], []
    with torch.no_grad():
        for r in range(args.warmup_runs + args.repeats):
            pre, dec, ids, logits = generate(model, prompt, args.new_tokens, mode, device)
            if r >= args.warmup_runs:
                prefill.append(1000.0 * pre)
                per_token.append(1000.0 * dec / (args.new_tokens - 1))
        # The cache must not change the model: the decode's logits against one forward over the same tokens.
        full = model(ids[:, :-1])  # (1, P + n - 1, V)
        diff = (full - logits).abs().max().item()

    result = {
        'bench': 'decode',
        'preset': preset,
        'attention': config['attention'],
        'positions': config['positions'],
        'cache': mode,
        'attnImpl': model.attn_impl,
        'batch': 1,
        'promptLen': args.prompt_len,
        'newTokens': args.new_tokens,
        'repeats': args.repeats,
        'msPerToken': bc.spread(per_token),
        'prefillMs': bc.spread(prefill),
        'cacheMaxAbsDiff': diff,
        'config': config,
    }
    result.update(bc.environment(device, args))
    bc.emit(result)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
