// A conservative check of WGSL's barrier rule on the project's generated shaders: `workgroupBarrier()` must only be
// called from uniform control flow (every invocation of the workgroup reaches it). Tint enforces it on the GPU
// machine and nothing here does, so a shader that breaks it passes every test of the WGSL-to-JS translator and
// fails to compile on Dawn (the split-K decode pass did, 2026-12-03: its loop bounds came from the workgroup id,
// which tfjs copies into a private variable, and Tint takes private variables as non-uniform).
//
// Line-based taint tracking, for shaders written one statement per line (lib/backend/webgpu/kernels/*.ts):
// a value is non-uniform when its expression reads a non-uniform source (the builtins tfjs copies into private
// variables, workgroup memory, the read-write result buffer) or a non-uniform name, or when it is assigned under
// non-uniform control flow; a barrier is flagged under an `if`/`for`/`while` whose condition is non-uniform, after
// a `return` under non-uniform control in the function, and after a `break`/`continue` under it in the loop.
// It over-approximates Tint (one name, one taint, whatever its scope), which is what a test wants.

/** Names tfjs's preamble defines per invocation or as private copies (non-uniform to Tint), and its helpers. */
const SOURCES = ['localId', 'globalId', 'workgroupId', 'numWorkgroups', 'localIndex', 'getGlobalIndex', 'getOutputCoords', 'result'];

interface Frame {
  tainted: boolean;
  loop: boolean;
}

const strip = (line: string) => line.replace(/\/\/.*$/, '');
const names = (expr: string) => new Set(expr.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);

/** The text between the first '(' after `from` and its matching ')'. */
function parenthesised(s: string, from: number): { inner: string; end: number } | null {
  const open = s.indexOf('(', from);
  if (open < 0) return null;
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return { inner: s.slice(open + 1, i), end: i + 1 };
  }
  return null;
}

/** Each barrier call under possibly non-uniform control flow, as "line N: why". Empty: none found. */
export function barrierUniformityProblems(wgsl: string): string[] {
  const tainted = new Set(SOURCES);
  for (const m of wgsl.matchAll(/var<workgroup>\s+([A-Za-z_][A-Za-z0-9_]*)/g)) tainted.add(m[1]);
  const reads = (expr: string) => [...names(expr)].some((n) => tainted.has(n));
  const problems: string[] = [];
  const stack: Frame[] = [];
  let returned = false; // a return under non-uniform control earlier in this function
  const underTaint = () => returned || stack.some((f) => f.tainted);
  wgsl.split('\n').forEach((raw, i) => {
    const line = strip(raw);
    if (/^\s*fn\s/.test(line)) returned = false;
    let pending: Frame | null = null;
    // A control header opens the next '{' with its condition's taint.
    const header = /\b(if|for|while)\s*\(/.exec(line);
    let scanFrom = 0;
    if (header) {
      const p = parenthesised(line, header.index);
      if (p) {
        let cond = p.inner;
        if (header[1] === 'for') {
          const [init = '', test = '', step = ''] = p.inner.split(';');
          const v = /(?:var|let)\s+([A-Za-z_][A-Za-z0-9_]*)[^=]*=(.*)$/.exec(init);
          if (v && (reads(v[2]) || underTaint())) tainted.add(v[1]);
          cond = `${test} ${step}`;
        }
        pending = { tainted: reads(cond) || underTaint(), loop: header[1] !== 'if' };
        scanFrom = p.end;
      }
    } else if (/\belse\b/.test(line)) {
      pending = { tainted: stack.at(-1)?.tainted ?? false, loop: false }; // `} else {`: the if's condition
    }
    // Assignments: `let|var x = e;`, `x = e;`, `x op= e;` (not array element stores, whose target is memory).
    for (const stmt of line.slice(scanFrom).split(';')) {
      const a = /(?:\b(?:let|var)\s+)?\b([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[^=]+)?(?:[-+*/]?=)(?!=)(.*)$/.exec(stmt);
      if (a && !/[<>!=]$/.test(stmt.slice(0, stmt.indexOf('=')).trim()) && (reads(a[2]) || underTaint() || pending?.tainted)) tainted.add(a[1]);
    }
    for (let c = scanFrom; c < line.length; c++) {
      const ch = line[c];
      if (ch === '{') {
        stack.push(pending ?? { tainted: false, loop: false });
        pending = null;
      } else if (ch === '}') {
        stack.pop();
      } else if (line.startsWith('workgroupBarrier', c)) {
        const inside = pending?.tainted ?? false; // `if (x) workgroupBarrier();` without braces
        if (underTaint() || inside) problems.push(`line ${i + 1}: ${line.trim()} (under non-uniform control flow)`);
      } else if (/^(return|break|continue)\b/.test(line.slice(c)) && /\W/.test(line[c - 1] ?? ' ')) {
        if (stack.some((f) => f.tainted)) {
          if (line.startsWith('return', c)) returned = true;
          else {
            const loop = [...stack].reverse().find((f) => f.loop);
            if (loop) loop.tainted = true;
          }
        }
      }
    }
  });
  return problems;
}
