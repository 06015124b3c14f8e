"""Training throughput of the PyTorch reference: the baseline the lab's own trainer is compared with.

One step = forward on a random (B, T) batch, next-token cross-entropy, backward, global-norm clip (1.0, as the
original and the lab's trainer), AdamW (lr 6e-4, weight decay 0.01). fp32 throughout, TF32 off on CUDA; dropout
as the config says (0.1 after each MLP). The first --warmup steps are not timed; each timed step is measured
on its own (after a device sync), and tokens/s = B·T / step time.

  python3 scripts/torch/bench_train.py --preset small-mla-rope --batch 8 --seq 256 --steps 10 --warmup 2 --threads 2
  python3 scripts/torch/bench_train.py --config-json cfg.json --device cuda --batch 8 --seq 256 --steps 50 --warmup 5
"""
import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_common as bc
from mla_torch import GPT, init_original


def main(argv):
    ap = argparse.ArgumentParser(prog='bench_train.py', description=__doc__.split('\n')[0])
    bc.add_model_args(ap)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--seq', type=int, default=256)
    ap.add_argument('--steps', type=int, default=10, help='timed steps')
    ap.add_argument('--warmup', type=int, default=2, help='untimed steps first (allocator, kernel selection)')
    ap.add_argument('--lr', type=float, default=6e-4)
    ap.add_argument('--weight-decay', type=float, default=0.01)
    ap.add_argument('--clip', type=float, default=1.0, help='global gradient-norm clip; 0 disables')
    ap.add_argument('--dropout', type=float, default=None, help='override the config\'s dropout')
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.batch < 1 or args.seq < 1:
        raise SystemExit('--steps, --batch and --seq must be >= 1 and --warmup >= 0')

    config, preset = bc.load_config(args)
    if args.dropout is not None:
        config = dict(config, dropout=args.dropout)
    if args.seq > config['maxSeqLen']:
        raise SystemExit('--seq %d exceeds the model\'s maxSeqLen %d' % (args.seq, config['maxSeqLen']))
    device = bc.setup_device(args)

    model = init_original(GPT(config, args.attn_impl), seed=args.seed).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=args.weight_decay)
    V = config['vocabSize']
    g = torch.Generator().manual_seed(args.seed)
    # Every batch drawn up front so the timed loop holds only the step itself.
    batches = [torch.randint(0, V, (args.batch, args.seq + 1), generator=g).to(device)
               for _ in range(args.warmup + args.steps)]  # (B, T + 1) each

    def step(batch):
        x, y = batch[:, :-1], batch[:, 1:]  # (B, T) inputs and next-token targets
        loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        return loss

    tokens = args.batch * args.seq
    rates, cpu_rates, losses = [], [], []
    for i, batch in enumerate(batches):
        t0, c0 = bc.now(device), time.process_time()
        loss = step(batch)
        dt, cpu = bc.now(device) - t0, time.process_time() - c0
        losses.append(loss.item())
        if i >= args.warmup:
            rates.append(tokens / dt)
            cpu_rates.append(tokens / max(cpu, 1e-9))
    if not all(math.isfinite(l) for l in losses):
        raise SystemExit('training diverged: losses %s' % losses)

    result = {
        'bench': 'train',
        'preset': preset,
        'attention': config['attention'],
        'positions': config['positions'],
        'attnImpl': model.attn_impl,
        'params': sum(p.numel() for p in model.parameters()),
        'batch': args.batch,
        'seq': args.seq,
        'steps': args.steps,
        'warmup': args.warmup,
        'dropout': config['dropout'],
        'clip': args.clip,
        'dtype': 'float32',
        'tokensPerSec': bc.spread(rates),
        'stepMs': bc.spread([1000.0 * tokens / r for r in rates]),
        # Tokens per second of this process's CPU time (all its threads): on a CPU shared with other work this
        # moves far less than wall-clock tokens/s; with --threads 1 it approximates an unloaded single core.
        'tokensPerCpuSec': bc.spread(cpu_rates) if device.type == 'cpu' else None,
        'loss': {'first': losses[0], 'last': losses[-1]},
        'config': config,
    }
    result.update(bc.environment(device, args))
    bc.emit(result)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
