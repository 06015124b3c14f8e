"""The PyTorch side of scripts/device/run-all.sh in one process (CUDA starts once): training tokens/s and greedy
decode ms/token of the same models and shapes as the WebGPU runs, through scripts/torch/bench_train.py and
bench_decode.py, one JSON line per configuration.

  python3 scripts/device/torch_all.py --configs .device/data --train-out T.jsonl --decode-out D.jsonl \
      [--contexts 128,512,960] [--batch 8] [--seq 1024]
"""
import argparse
import contextlib
import io
import json
import os
import sys
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'torch'))
import bench_decode  # noqa: E402
import bench_train  # noqa: E402

DECODE = [('35m-mha-rope', 'kv'), ('35m-mla-rope', 'latent'), ('35m-mla-rope', 'absorbed'), ('35m-mla-rope', 'full')]


def run(main, argv, out_file, label):
    """Runs one benchmark's main(argv), appending its JSON (or the error) as one line of out_file."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            main(argv)
        doc = json.loads(buf.getvalue())
    except BaseException as e:  # SystemExit included: the benchmarks exit on bad input
        doc = {'label': label, 'argv': argv, 'error': '%s: %s' % (type(e).__name__, e), 'trace': traceback.format_exc()[-2000:]}
    with open(out_file, 'a') as f:
        f.write(json.dumps(doc) + '\n')
    summary = doc.get('tokensPerSec') or doc.get('msPerToken') or doc.get('error')
    print('%s: %s' % (label, summary), file=sys.stderr, flush=True)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--configs', required=True, help='folder of <preset>.json from `mla info --preset P --json`')
    ap.add_argument('--train-out', required=True)
    ap.add_argument('--decode-out', required=True)
    ap.add_argument('--contexts', default='128,512,960')
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--seq', type=int, default=1024)
    ap.add_argument('--new-tokens', type=int, default=33)
    ap.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    ap.add_argument('--train-only', action='store_true', help='skip the decode benchmarks')
    args = ap.parse_args(argv)
    cfg = lambda p: os.path.join(args.configs, p + '.json')  # noqa: E731
    for preset in ('35m-mla-rope', '35m-mha-rope'):
        for impl in ('sdpa', 'manual'):
            run(bench_train.main, ['--config-json', cfg(preset), '--device', args.device, '--attn-impl', impl, '--batch', str(args.batch),
                                   '--seq', str(args.seq), '--steps', '20', '--warmup', '5'], args.train_out, 'train %s %s' % (preset, impl))
    for preset, mode in ([] if args.train_only else DECODE):
        for ctx in args.contexts.split(','):
            run(bench_decode.main, ['--config-json', cfg(preset), '--device', args.device, '--cache', mode, '--prompt-len', ctx,
                                    '--new-tokens', str(args.new_tokens), '--repeats', '3', '--warmup-runs', '1'],
                args.decode_out, 'decode %s %s @%s' % (preset, mode, ctx))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
