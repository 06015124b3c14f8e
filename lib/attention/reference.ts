// A slow, loop-based attention over plain arrays: the oracle the fast tensor paths are tested against.
// Nothing here is shared with core.ts on purpose.

/** Per-head arrays: q[b][h][i][d], k[b][hk][j][d], v[b][hk][j][dv]. Query head h uses KV head floor(h / G). */
export type Heads = number[][][][];

export function referenceAttention(q: Heads, k: Heads, v: Heads, qStart: number, scale: number): Heads {
  const out: Heads = [];
  for (let b = 0; b < q.length; b++) {
    const H = q[b].length;
    const Hk = k[b].length;
    const G = H / Hk;
    out.push([]);
    for (let h = 0; h < H; h++) {
      const kh = k[b][Math.floor(h / G)];
      const vh = v[b][Math.floor(h / G)];
      out[b].push([]);
      for (let i = 0; i < q[b][h].length; i++) {
        const visible = Math.min(qStart + i + 1, kh.length);
        const s: number[] = [];
        for (let j = 0; j < visible; j++) {
          let dot = 0;
          for (let d = 0; d < q[b][h][i].length; d++) dot += q[b][h][i][d] * kh[j][d];
          s.push(dot * scale);
        }
        const max = Math.max(...s);
        const e = s.map((x) => Math.exp(x - max));
        const z = e.reduce((a, x) => a + x, 0);
        const o = new Array(vh[0].length).fill(0);
        for (let j = 0; j < visible; j++) for (let d = 0; d < o.length; d++) o[d] += (e[j] / z) * vh[j][d];
        out[b][h].push(o);
      }
    }
  }
  return out;
}
