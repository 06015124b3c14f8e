#!/usr/bin/env node
// The `mla` command: one subcommand per file in cli/commands/, each exporting
// `run(argv: string[]): Promise<number>` (argv after the subcommand name; returns the exit code).
// Subcommands parse their own flags with node:util parseArgs and accept --json.
import { CliError, formatError } from './errors';

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
  bench: { summary: 'matmul, training and decoding benchmarks', load: () => require('./commands/bench') as Command },
};

function usage(): string {
  const rows = Object.entries(SUBCOMMANDS).map(([k, v]) => `  ${k.padEnd(10)} ${v.summary}`);
  return ['usage: mla <command> [options]   (every command takes --json and --help)', '', ...rows].join('\n');
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(formatError(err));
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  },
);
