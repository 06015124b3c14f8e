"""Compares the PyTorch reference with the lab's logits on a machine that has no node (e.g. a GPU box).

  node dist/cli/main.js logits --checkpoint F --ids 1,2,3 --json > ours.json      # where the lab runs
  python3 scripts/torch/check_logits.py --checkpoint F --expected ours.json --cache all --device cuda

Runs one forward pass ('none') and/or token-by-token decoding through each cache mode, and prints one JSON line
per run with max |torch - lab| and the logit scale (max |logit|). Exits 1 when a difference exceeds
--tol · max(1, scale).
"""
import argparse
import json
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from mla_torch import CACHE_MODES, load_checkpoint, logits_for


def main(argv):
    ap = argparse.ArgumentParser(prog='check_logits.py', description=__doc__.split('\n')[0])
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--expected', required=True, help='the JSON of `mla logits --checkpoint F --ids ... --json`')
    ap.add_argument('--cache', default='none', help="'none', a cache mode of the model, or 'all' (none + every mode)")
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--attn-impl', default='auto', choices=['auto', 'sdpa', 'manual'])
    ap.add_argument('--dtype', default='float32', choices=['float32', 'float64'])
    ap.add_argument('--tol', type=float, default=1e-4, help='allowed max |diff| relative to max(1, logit scale)')
    args = ap.parse_args(argv)
    try:
        with open(args.expected) as f:
            expected = json.load(f)
        ids, want = expected['ids'], torch.tensor(expected['logits'], dtype=torch.float64)  # (T, V)
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit('--expected %s: not the JSON of `mla logits --json` (%s)' % (args.expected, e))
    config, _ = load_checkpoint(args.checkpoint)
    modes = ['none'] + list(CACHE_MODES[config['attention']]) if args.cache == 'all' else [args.cache]
    dtype = torch.float64 if args.dtype == 'float64' else torch.float32
    scale = want.abs().max().item()
    failed = False
    for mode in modes:
        got = logits_for(args.checkpoint, ids, mode, dtype, args.attn_impl, args.device).cpu().double()
        if got.shape != want.shape:
            raise SystemExit('%s (%s): torch logits have shape %s, expected %s'
                             % (args.checkpoint, mode, list(got.shape), list(want.shape)))
        diff = (got - want).abs().max().item()
        ok = diff <= args.tol * max(1.0, scale)
        failed = failed or not ok
        print(json.dumps({'checkpoint': args.checkpoint, 'attention': config['attention'],
                          'positions': config['positions'], 'cache': mode, 'device': args.device,
                          'attnImpl': args.attn_impl, 'dtype': args.dtype, 'torch': torch.__version__,
                          'maxAbsDiff': diff, 'logitScale': scale, 'ok': ok}))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
