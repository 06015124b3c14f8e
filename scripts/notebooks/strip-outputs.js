#!/usr/bin/env node
// Notebooks are kept in git without outputs: a saved run carries machine-specific numbers and timings, and the
// other engineers' diffs would drown in them. Executed copies live in build/notebooks/ (run-all.js); the figures and tables in figures/ and data/.
//
//   node scripts/notebooks/strip-outputs.js [NOTEBOOK.ipynb ...]          clear outputs in place
//   node scripts/notebooks/strip-outputs.js --check [NOTEBOOK.ipynb ...]  exit 1 if any notebook has outputs or a cell without an id
//
// Without names: every notebooks/*.ipynb.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

/** The notebook with outputs, execution counts and per-run cell metadata removed and every cell given an id; `changed` says if anything was. */
function strip(nb) {
  let changed = false;
  // nbformat 4.5 requires a unique id on every cell (nbclient warns, and a later nbformat refuses, without one):
  // give each cell that lacks one the first free `c<index>`, so ids are stable across strips.
  if (nb.nbformat > 4 || (nb.nbformat === 4 && (nb.nbformat_minor ?? 0) >= 5)) {
    const taken = new Set((nb.cells || []).map((c) => c.id).filter((id) => typeof id === 'string'));
    (nb.cells || []).forEach((cell, i) => {
      if (typeof cell.id === 'string' && cell.id !== '') return;
      let id = `c${String(i).padStart(2, '0')}`;
      for (let k = 1; taken.has(id); k++) id = `c${String(i).padStart(2, '0')}-${k}`;
      taken.add(id);
      cell.id = id;
      changed = true;
    });
  }
  for (const cell of nb.cells || []) {
    if (cell.cell_type !== 'code') continue;
    if ((cell.outputs && cell.outputs.length > 0) || cell.execution_count != null) changed = true;
    cell.outputs = [];
    cell.execution_count = null;
    if (cell.metadata && cell.metadata.execution) {
      delete cell.metadata.execution; // nbclient's timing record
      changed = true;
    }
  }
  return changed;
}

function main(argv) {
  const check = argv.includes('--check');
  const names = argv.filter((a) => a !== '--check');
  const unknown = names.filter((n) => n.startsWith('-'));
  if (unknown.length > 0) {
    console.error(`strip-outputs: unknown option(s) ${unknown.join(' ')}; usage: strip-outputs.js [--check] [NOTEBOOK.ipynb ...]`);
    return 2;
  }
  const dir = path.join(ROOT, 'notebooks');
  const files = names.length > 0 ? names.map((n) => path.resolve(n)) : fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(dir, f));
  const dirty = [];
  for (const file of files) {
    const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!strip(nb)) continue;
    dirty.push(path.relative(ROOT, file));
    // One-space indent, as Jupyter writes notebooks, so a strip makes a small diff.
    if (!check) fs.writeFileSync(file, JSON.stringify(nb, null, 1) + '\n');
  }
  if (check && dirty.length > 0) {
    console.error(`strip-outputs: notebooks saved with outputs or cells without ids: ${dirty.join(', ')}; run node scripts/notebooks/strip-outputs.js`);
    return 1;
  }
  console.log(dirty.length > 0 ? `strip-outputs: cleared ${dirty.join(', ')}` : `strip-outputs: ${files.length} notebook(s) clean`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { strip };
