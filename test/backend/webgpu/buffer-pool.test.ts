// The bound on tfjs-backend-webgpu's pool of freed buffers (lib/backend/webgpu/buffer-pool.ts), on a manager with
// tfjs's own release logic (pool by exact size and usage) and buffers that record being destroyed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LARGE_ONCE_BYTES, type PooledBufferManager, boundBufferPool, pooledBytes } from '../../../lib/backend/webgpu/buffer-pool';

interface FakeBuffer { size: number; usage: number; destroyed: boolean; destroy(): void }
const USAGE = 140;
const MB = 2 ** 20;

/** tfjs's BufferManager, reduced to what the pool does: acquire reuses an exact key, release pools or destroys. */
function manager() {
  const m = {
    freeBuffers: new Map<string, FakeBuffer[]>(),
    numFreeBuffers: 0,
    numBytesUsed: 0,
    numBytesAllocated: 0,
    created: 0,
    acquire(size: number): FakeBuffer {
      const list = m.freeBuffers.get(`${size}_${USAGE}`) ?? [];
      m.freeBuffers.set(`${size}_${USAGE}`, list);
      let b = list.pop();
      if (b) m.numFreeBuffers--;
      else {
        b = { size, usage: USAGE, destroyed: false, destroy() { this.destroyed = true; } };
        m.numBytesAllocated += size;
        m.created++;
      }
      m.numBytesUsed += size;
      return b;
    },
    releaseBuffer(buffer: FakeBuffer, reuse = true) {
      m.numBytesUsed -= buffer.size;
      if (reuse) {
        m.freeBuffers.get(`${buffer.size}_${buffer.usage}`)!.push(buffer);
        m.numFreeBuffers++;
      } else {
        buffer.destroy();
        m.numBytesAllocated -= buffer.size;
      }
    },
  };
  return m;
}

test('unbounded (cap 0), a growing size leaves every freed buffer pooled; bounded, the pool stays under the cap', () => {
  const grow = (m: ReturnType<typeof manager>) => {
    for (let piece = 1; piece <= 40; piece++) m.releaseBuffer(m.acquire(piece * 10 * MB)); // a cache re-expanded, one piece longer each time
  };
  const free = manager();
  boundBufferPool(free as unknown as PooledBufferManager, 0);
  grow(free);
  assert.equal(pooledBytes(free), 8200 * MB, 'tfjs keeps all 40 sizes');
  const bounded = manager();
  boundBufferPool(bounded as unknown as PooledBufferManager, 500 * MB);
  grow(bounded);
  assert.ok(pooledBytes(bounded) <= 500 * MB, `pool ${pooledBytes(bounded) / MB} MB`);
  assert.equal(bounded.numFreeBuffers, [...bounded.freeBuffers.values()].reduce((s, l) => s + l.length, 0), 'the count follows the lists');
});

test('a steady step under the cap reuses its buffers: nothing is created after the first step', () => {
  const m = manager();
  boundBufferPool(m as unknown as PooledBufferManager, 100 * MB);
  const step = () => {
    const live = [30, 20, 10, 20].map((s) => m.acquire(s * MB));
    for (const b of live) m.releaseBuffer(b);
  };
  step();
  const created = m.created;
  for (let i = 0; i < 5; i++) step();
  assert.equal(m.created, created);
});

test('eviction takes other sizes, largest first, and destroys what it evicts; a buffer larger than the cap is destroyed', () => {
  const m = manager();
  boundBufferPool(m as unknown as PooledBufferManager, 100 * MB);
  const [a, b, c] = [50, 30, 10].map((s) => m.acquire(s * MB));
  for (const x of [a, b, c]) m.releaseBuffer(x);
  assert.equal(pooledBytes(m), 90 * MB);
  const d = m.acquire(40 * MB);
  m.releaseBuffer(d); // 90 + 40 > 100: the 50 MB buffer goes
  assert.deepEqual([a.destroyed, b.destroyed, c.destroyed, d.destroyed], [true, false, false, false]);
  assert.equal(pooledBytes(m), 80 * MB);
  const huge = m.acquire(200 * MB);
  m.releaseBuffer(huge);
  assert.ok(huge.destroyed);
  assert.ok(pooledBytes(m) <= 100 * MB);
});

test('the returned function restores tfjs release and acquire', () => {
  const m = countedManager();
  const [release, acquire] = [m.releaseBuffer, m.acquireBuffer];
  const undo = boundBufferPool(m as unknown as PooledBufferManager, MB);
  assert.notEqual(m.releaseBuffer, release);
  assert.notEqual(m.acquireBuffer, acquire);
  undo();
  assert.equal(m.releaseBuffer, release);
  assert.equal(m.acquireBuffer, acquire);
});

/** The manager with tfjs's acquireBuffer(size, usage) too, which the bound counts. */
function countedManager() {
  const m = manager();
  return Object.assign(m, { acquireBuffer: (size: number, _usage: number) => m.acquire(size) });
}

test('a large size asked for once (a growing cache) is destroyed on release, not pooled; one asked for again pools and is reused', () => {
  const GB = 2 ** 30;
  const m = countedManager();
  boundBufferPool(m as unknown as PooledBufferManager, 48 * GB);
  // A cache that grows by 64 rows: each buffer a little larger than the last, the old one released after the copy.
  let cache = m.acquireBuffer(2 * GB, USAGE) as FakeBuffer;
  for (let i = 1; i <= 10; i++) {
    const grown = m.acquireBuffer(2 * GB + i * 4 * MB, USAGE) as FakeBuffer;
    m.releaseBuffer(cache);
    assert.ok(cache.destroyed, `growth ${i}: the old cache is destroyed`);
    cache = grown;
  }
  assert.equal(pooledBytes(m), 0, 'nothing pooled');
  // A training step's large activation: the first release destroys it (asked once), from the second it pools and is reused.
  const step = () => m.releaseBuffer(m.acquireBuffer(LARGE_ONCE_BYTES, USAGE) as FakeBuffer);
  step();
  step();
  const created = m.created;
  for (let i = 0; i < 5; i++) step();
  assert.equal(m.created, created, 'reused from the pool');
  assert.equal(pooledBytes(m), LARGE_ONCE_BYTES);
  // Below the threshold a buffer asked once pools as before.
  const small = m.acquireBuffer(LARGE_ONCE_BYTES - 4, USAGE) as FakeBuffer;
  m.releaseBuffer(small);
  assert.ok(!small.destroyed);
});

test("one size shared by many caches (K and V of every layer, asked for together) is not pooled when they are released", () => {
  const GB = 2 ** 30;
  const m = countedManager();
  boundBufferPool(m as unknown as PooledBufferManager, 48 * GB);
  for (const context of [1, 2, 4]) {
    // 16 caches of one size, then each grown by one granule: the old ones released after their copies.
    const caches = Array.from({ length: 16 }, () => m.acquireBuffer(context * GB, USAGE) as FakeBuffer);
    const grown = caches.map((old) => {
      const g = m.acquireBuffer(context * GB + 4 * MB, USAGE) as FakeBuffer;
      m.releaseBuffer(old);
      return g;
    });
    for (const g of grown) m.releaseBuffer(g); // the decode ends
    assert.ok([...caches, ...grown].every((b) => b.destroyed), `context ${context}: every cache destroyed`);
    assert.equal(pooledBytes(m), 0, `context ${context}: nothing pooled`);
  }
});
