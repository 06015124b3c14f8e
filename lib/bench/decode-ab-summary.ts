// A scripts/device/decode-shaders.sh folder as one table: its ab/NAME-VARIANT.json records (`mla bench decode`, one
// per stage — a preset, a cache mode and a batch — and variant: a decode shader, an unroll, a setting) side by side
// per stage and context: each variant's median ms a step and its decode attention's GPU ms, its ratio to the base
// variant of the same stage (all from one call, so the same machine and copy bandwidth), and the memory-traffic
// floor's multiple; then the decode-check records (dc*.json) of the same folder as one line each.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchError } from './errors';
import { type Doc, readRecordJson } from './read-json';
import { DECODE_KERNELS } from './model-benches';

export interface DecodeAbVariant {
  variant: string;
  ms: number;
  attentionMs: number;
  ratioToFloor: number;
  /** ms / the base variant's ms at the same stage and context; null where the base has no time there. */
  overBase: number | null;
}

export interface DecodeAbCell {
  /** The stage, as the script names it (e.g. abs-b16: absorbed MLA at batch 16). */
  stage: string;
  context: number;
  floorMs: number;
  variants: DecodeAbVariant[];
  /** Variants whose record has an error at this point, with it. */
  errors: { variant: string; error: string }[];
}

export interface DecodeAbSummary {
  dir: string;
  /** Per stage, the variant the ratios are to. */
  bases: Record<string, string>;
  cells: DecodeAbCell[];
  /** decode-check records: the file, whether every case was ok, the largest relative error. */
  checks: { file: string; ok: boolean; cases: number; maxRelErr: number }[];
  /** Records cut short (a stage's time limit): their cells are those it finished. */
  incomplete: string[];
}

/** NAME-VARIANT.json → [NAME, VARIANT], NAME being a stage of decode-shaders.sh (mode-bBATCH). */
function splitName(file: string): [string, string] | null {
  const m = /^([a-z]+-b\d+)-(.+)\.json$/.exec(file);
  return m ? [m[1], m[2]] : null;
}

/**
 * The folder's A/B table. `base`: the variant each stage's ratios are to where the stage has it (default 'auto',
 * the library's default shader); a stage without it compares to its first variant in name order.
 */
export function summarizeDecodeAb(dir: string, base = 'auto'): DecodeAbSummary {
  if (!fs.existsSync(dir)) throw new BenchError(`${dir} does not exist; pass the folder decode-shaders.sh wrote (/tmp/r there, unpacked from r.tgz)`);
  const abDir = fs.existsSync(path.join(dir, 'ab')) ? path.join(dir, 'ab') : dir;
  const files = fs.readdirSync(abDir).filter((f) => splitName(f) !== null).sort();
  const checkFiles = fs.readdirSync(dir).filter((f) => /^dc.*\.json$/.test(f)).sort();
  if (files.length === 0 && checkFiles.length === 0) throw new BenchError(`${dir} has no ab/NAME-VARIANT.json and no dc*.json: not a decode-shaders.sh folder`);
  const attention = new Set<string>(DECODE_KERNELS.attention);
  type Point = { variant: string; ms?: number; attentionMs?: number; floorMs?: number; ratioToFloor?: number; error?: string };
  const points = new Map<string, Map<number, Point[]>>(); // stage → context → variants
  const variantsOf = new Map<string, string[]>();
  const incomplete: string[] = [];
  for (const f of files) {
    const [stage, variant] = splitName(f)!;
    const rec = readRecordJson(path.join(abDir, f));
    if (rec.kind !== 'decode' || !Array.isArray(rec.results?.rows)) throw new BenchError(`${path.join(abDir, f)} is not an \`mla bench decode\` record`);
    if (rec.results.complete === false) incomplete.push(f);
    variantsOf.set(stage, [...(variantsOf.get(stage) ?? []), variant]);
    if (!points.has(stage)) points.set(stage, new Map());
    for (const r of rec.results.rows as Doc[]) {
      const at = points.get(stage)!;
      if (!at.has(r.context)) at.set(r.context, []);
      if ('error' in r) at.get(r.context)!.push({ variant, error: String(r.error) });
      else {
        const attentionMs = (r.kernelTimes ?? []).filter((k: Doc) => attention.has(k.kernel)).reduce((s: number, k: Doc) => s + k.ms, 0);
        at.get(r.context)!.push({ variant, ms: r.msPerStep.median, attentionMs, floorMs: r.floorMs, ratioToFloor: r.ratioToFloor });
      }
    }
  }
  const bases: Record<string, string> = {};
  const cells: DecodeAbCell[] = [];
  for (const [stage, byContext] of points) {
    const names = variantsOf.get(stage)!;
    bases[stage] = names.includes(base) ? base : names[0];
    for (const context of [...byContext.keys()].sort((a, b) => a - b)) {
      const ps = byContext.get(context)!;
      const baseMs = ps.find((p) => p.variant === bases[stage] && p.ms !== undefined)?.ms ?? null;
      const timed = ps.filter((p) => p.ms !== undefined);
      cells.push({
        stage, context, floorMs: timed[0]?.floorMs ?? Number.NaN,
        variants: timed.map((p) => ({ variant: p.variant, ms: p.ms!, attentionMs: p.attentionMs!, ratioToFloor: p.ratioToFloor!, overBase: baseMs === null ? null : p.ms! / baseMs })),
        errors: ps.filter((p) => p.error !== undefined).map((p) => ({ variant: p.variant, error: p.error! })),
      });
    }
  }
  const checks = checkFiles.map((f) => {
    const rec = readRecordJson(path.join(dir, f));
    if (rec.kind !== 'decode-check' || !Array.isArray(rec.results?.attention)) throw new BenchError(`${path.join(dir, f)} is not an \`mla bench decode-check\` record`);
    const cases = [...rec.results.attention, ...(rec.results.cacheWrite ?? [])] as Doc[];
    return { file: f, ok: rec.results.ok === true, cases: cases.length, maxRelErr: Math.max(0, ...cases.map((c) => (typeof c.relErr === 'number' ? c.relErr : 0))) };
  });
  return { dir, bases, cells, checks, incomplete };
}
