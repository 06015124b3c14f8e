"""What the two PyTorch benchmarks share: the model config (from a file or from `mla info`), the device and
thread setup, and the environment every result records."""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def add_model_args(ap):
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--config-json', help='a JSON file: `mla info --preset P --json` output (its .config) or a bare config')
    src.add_argument('--preset', help='a lab preset, resolved through `node dist/cli/main.js info` (needs node + a build)')
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='config override passed to `mla info` (with --preset)')
    ap.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    ap.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: leave torch\'s default)')
    ap.add_argument('--attn-impl', default='auto', choices=['auto', 'sdpa', 'manual'],
                    help='sdpa: F.scaled_dot_product_attention (torch >= 2.0); manual: matmul + softmax')
    ap.add_argument('--seed', type=int, default=0)


def load_config(args):
    """The ModelConfig dict the benchmark builds (plus the preset name, or None)."""
    if args.config_json:
        try:
            with open(args.config_json) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit('--config-json %s: cannot read a JSON config (%s)' % (args.config_json, e))
        return doc.get('config', doc), doc.get('preset')
    cmd = ['node', os.path.join(ROOT, 'dist', 'cli', 'main.js'), 'info', '--preset', args.preset, '--json']
    for kv in args.set:
        cmd += ['--set', kv]
    try:
        out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    except OSError as e:
        raise SystemExit('--preset needs node and a built dist/ (%s); on a machine without them, write the config '
                         'elsewhere with `node dist/cli/main.js info --preset %s --json > cfg.json` and pass '
                         '--config-json cfg.json' % (e, args.preset))
    if out.returncode != 0:
        raise SystemExit('`%s` failed: %s' % (' '.join(cmd), out.stderr.strip()))
    return json.loads(out.stdout)['config'], args.preset


def setup_device(args):
    """Threads, strict fp32 (no TF32 on CUDA: the comparison is against fp32 CPU/WebGPU runs) and the device."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: torch %s sees no CUDA device; use --device cpu' % torch.__version__)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        if hasattr(torch, 'set_float32_matmul_precision'):
            torch.set_float32_matmul_precision('highest')
    torch.manual_seed(args.seed)
    return torch.device(args.device)


def device_name(device):
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def now(device):
    """A timestamp after all queued device work has finished."""
    sync(device)
    return time.perf_counter()


def spread(values):
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values)}


def environment(device, args):
    env = {
        'device': device.type,
        'deviceName': device_name(device),
        'torch': torch.__version__,
        'python': platform.python_version(),
        'threads': torch.get_num_threads(),
        'cpuCount': os.cpu_count(),
    }
    if hasattr(os, 'getloadavg'):
        env['loadAvg1m'] = round(os.getloadavg()[0], 2)  # other work on the machine skews CPU numbers
    if device.type == 'cuda':
        env['cuda'] = torch.version.cuda
        env['tf32'] = torch.backends.cuda.matmul.allow_tf32
    return env


def emit(result):
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write('\n')
