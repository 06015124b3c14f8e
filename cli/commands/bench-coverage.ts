// mla bench coverage: the WebGPU backend against tfjs's cpu kernels on every attention kind (lib/bench/coverage.ts).
import { COVERAGE_PRESETS, type CoverageReport, runCoverage, startRecord, writeRecord } from '../../lib/bench';
import { PRESET_NAMES } from '../../lib/config/presets';
import { CliError } from '../errors';
import { output, parseFlags } from '../common';
import { finishBench, parseNameList } from './bench-common';

export const COVERAGE_HELP = `usage: mla bench coverage [--presets a,b,...] [--backend webgpu|cpu] [--out DIR|F.json] [--json]
Computes, from the same weights on tfjs's cpu kernels and on the backend under test (default webgpu; cpu: the
native kernels), for each preset (default the tiny ${COVERAGE_PRESETS.length}: every attention kind): the logits of a forward,
one training step (loss with dropout, every gradient, the global norm, one AdamW update, a NaN loss leaving the
parameters) and cached decoding in every cache mode; the kernels used, those webgpu lacks or ran on the CPU;
the library entry points that once read synchronously; a 2,048 × 10,000 cross-entropy against float64. Each
case runs in a Dawn error scope, so a dropped command buffer fails it. Without a GPU adapter the record says
{"adapter": null, "reason": ...} and the exit code is 0; a failed check exits 1.
  --presets LIST   presets to compare (default ${COVERAGE_PRESETS.join(',')})
  --backend B      webgpu (default) or cpu
  --out DIR|F.json where the record goes (default data/bench; a path ending in .json is the record itself)
  --json           print the record as JSON`;

export async function benchCoverage(argv: string[]): Promise<number> {
  const cmd = 'bench coverage';
  const { values } = parseFlags(cmd, argv, { presets: { type: 'string' }, backend: { type: 'string' }, out: { type: 'string' } });
  if (values.help) return console.log(COVERAGE_HELP), 0;
  const backend = values.backend ?? 'webgpu';
  if (backend !== 'webgpu' && backend !== 'cpu') throw new CliError(`${cmd}: --backend must be webgpu or cpu, got '${backend}'`);
  const presets = parseNameList(cmd, 'presets', values.presets, PRESET_NAMES);
  const report: CoverageReport = await runCoverage({
    presets,
    backend,
    onCase: (c) => {
      if (!values.json) console.error(`${c.preset}: ${c.ok ? 'ok' : 'FAILED'} (${c.seconds.toFixed(1)} s)`);
    },
  });
  const record = startRecord('coverage', { presets: presets ?? [...COVERAGE_PRESETS], backend }, report);
  const file = writeRecord(record, values.out);
  const ok = report.adapter === null || report.ok;
  output(values.json, { ...record, file }, () => {
    if (report.adapter === null) return `no adapter for ${backend}: ${report.reason}\nrecord: ${file}`;
    const bad = report.cases.flatMap((c) => c.checks.filter((k) => !k.pass).map((k) => `  ${c.preset} ${k.what}: ${k.error ?? `rel ${k.rel} > ${k.tol}`}`));
    return [
      `${backend} (${report.adapter}) against cpu: ${report.ok ? 'ok' : 'FAILED'}; ${report.cases.filter((c) => c.ok).length}/${report.cases.length} cases pass`,
      ...bad,
      ...report.failed.map((f) => `  ${f.backend} ${f.preset} ${f.phase}: ${f.error}`),
      `large cross-entropy: ${report.largeLoss.ok ? 'ok' : 'FAILED'} (max |err| ${report.largeLoss.maxAbsErr.default.toExponential(2)}${report.largeLoss.gpuError ? `; ${report.largeLoss.gpuError}` : ''})`,
      `kernels webgpu lacks: ${report.kernels.missingOnWebgpu.join(', ') || 'none'}; sync reads: ${Object.entries(report.syncReads).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `record: ${file}`,
    ].join('\n');
  });
  return finishBench(ok ? 0 : 1);
}
