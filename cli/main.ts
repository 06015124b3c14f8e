#!/usr/bin/env node
// The `mla` command: one subcommand per file in cli/commands/, each exporting
// `run(argv: string[]): Promise<number>` (argv after the subcommand name; returns the exit code).
// Subcommands parse their own flags with node:util parseArgs and accept --json.
import { CliError, formatError } from './errors';
import { SettingsError, debugFromEnv } from '../lib/settings';

interface Command {
  run(argv: string[]): Promise<number>;
}

// Loaded lazily so `mla presets` never pays for the tokenizer or the native addon.
const SUBCOMMANDS: Record<string, { summary: string; load: () => Command }> = {
  presets: { summary: 'list presets with parameter count and KV cache per token', load: () => require('./commands/presets') as Command },
  info: { summary: 'resolved config, parameters and KV cache of one model', load: () => require('./commands/info') as Command },
  init: { summary: 'write a randomly initialised checkpoint', load: () => require('./commands/init') as Command },
  logits: { summary: 'logits at every position of a token sequence', load: () => require('./commands/logits') as Command },
  generate: { summary: 'generate tokens from a checkpoint', load: () => require('./commands/generate') as Command },
  data: { summary: 'build or describe a corpus and its tokenizer', load: () => require('./commands/data') as Command },
  train: { summary: 'train a model', load: () => require('./commands/train') as Command },
  eval: { summary: 'perplexity of a trained run on a split', load: () => require('./commands/eval') as Command },
  convert: { summary: 'convert an MHA/GQA/MQA checkpoint to MLA (SVD of [W_K | W_V])', load: () => require('./commands/convert') as Command },
  bench: { summary: 'matmul, training and decoding benchmarks', load: () => require('./commands/bench') as Command },
  experiment: { summary: "train or reuse the runs of one of the study's experiments at a scale", load: () => require('./commands/experiment') as Command },
  sweep: { summary: 'plan, run, queue, check and tabulate a sweep file of runs', load: () => require('./commands/sweep') as Command },
  worker: { summary: 'train sweep runs pulled from a BullMQ queue on Redis', load: () => require('./commands/worker') as Command },
};

function usage(): string {
  const rows = Object.entries(SUBCOMMANDS).map(([k, v]) => `  ${k.padEnd(10)} ${v.summary}`);
  return ['usage: mla <command> [options]   (every command takes --json and --help; --debug prints the stack of any error)', '', ...rows].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  const sub = SUBCOMMANDS[cmd];
  if (!sub) throw new CliError(`unknown command '${cmd}'`, usage());
  const mod = sub.load();
  return mod.run(rest);
}

// A reader that goes away (`mla train … | head`, a closed terminal) makes writes fail with EPIPE or EIO,
// which Node raises as an uncaught 'error' event: output to that stream ends quietly, the work goes on.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
  });
}

// --debug (anywhere on the line) or MLA_DEBUG=1: the stack of every error, not only of unexpected ones. The
// CLI entry is, with lib/settings.ts, the one place that reads the environment; a bad MLA_DEBUG is reported
// like any other bad setting (one line, exit 2).
const args = process.argv.slice(2);
let debug = args.includes('--debug');
let start: Promise<number>;
try {
  debug ||= debugFromEnv(process.env);
  start = main(args.filter((a) => a !== '--debug'));
} catch (err) {
  start = Promise.reject(err instanceof SettingsError ? new CliError(err.message) : err);
}

/**
 * Sets the exit code; after WebGPU was started (its wiring sets navigator.gpu), also ends the process once the
 * output has drained, since Dawn holds it open while a device exists, also after an error.
 */
function finish(code: number): void {
  process.exitCode = code;
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === undefined) return;
  (require('../lib/backend') as typeof import('../lib/backend')).exitProcess(code, true);
}

start.then(
  (code) => finish(code),
  (err: unknown) => {
    console.error(formatError(err, debug));
    finish(err instanceof CliError ? err.exitCode : 1);
  },
);
