// AdamW updating p, m and v in place, one dispatch per parameter, registered in lib/ops/adamw.ts's registry of
// in-place updates under 'webgpu'. The tfjs-kernel path it replaced (now dev/adamw-kernels.ts) needed
// three dispatches per parameter, because a tfjs kernel has one output, plus the assigns and disposals around
// them: 513 dispatches for the 35M models, ~55 ms of host time per step on the H200 (data/bench/device/
// session-3/), a quarter of the step. Here one shader reads g and rewrites the parameter and both moments in
// their own buffers, recorded straight into tfjs-backend-webgpu's command stream.
// Same update as lib/train/adamw.ts: m′ = β1·m + (1 − β1)·g, v′ = β2·v + (1 − β2)·g², with g = grad·gradScale,
// p′ = p·decay − stepSize · m′ / (√v′ · invSqrtBc2 + eps).
// In-place writes are only safe on buffers nobody else holds: lib/train/adamw.ts gives a parameter or moment
// that shares its data (refCount > 1) a copy of its own first.
import * as tf from '@tensorflow/tfjs-core';
import { type AdamWStepConstants, type InPlaceAdamW, type InPlaceItem, registerInPlaceAdamW } from '../../../ops/adamw';
import { FOLD_ROW, foldedDispatch } from '../program';

/** The uniforms, in the order of the shader's struct. */
export function inPlaceUniformValues(k: AdamWStepConstants): number[] {
  return [k.beta1, 1 - k.beta1, k.beta2, 1 - k.beta2, k.gradScale, k.decay, k.stepSize, k.invSqrtBc2, k.eps, k.maxNorm ?? 0];
}

/** Whether a float32 is finite, from its bits (a compiler may assume arithmetic never yields NaN or ±inf). */
export const FINITE_WGSL = 'fn finiteF32(x : f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) < 0x7f800000u; }';

/** The update of element i (the body the CPU tests translate and run); S = [loss, norm], both finite here. */
export const ADAMW_INPLACE_BODY = `
    let clip = select(1.0, min(1.0, k.maxNorm / (S[1] + 1e-6)), k.maxNorm > 0.0);
    let g = G[i] * (k.gradScale * clip);
    let m = k.keep1 * M[i] + k.mix1 * g;
    let v = k.keep2 * V[i] + k.mix2 * g * g;
    M[i] = m;
    V[i] = v;
    P[i] = P[i] * k.decay - k.stepSize * (m / (sqrt(v) * k.invSqrtBc2 + k.eps));
`;

const THREADS = 256;

export const ADAMW_INPLACE_WGSL = `
struct Step { keep1 : f32, mix1 : f32, keep2 : f32, mix2 : f32, gradScale : f32, decay : f32, stepSize : f32, invSqrtBc2 : f32, eps : f32, maxNorm : f32 };
@group(0) @binding(0) var<storage, read_write> P : array<f32>;
@group(0) @binding(1) var<storage, read_write> M : array<f32>;
@group(0) @binding(2) var<storage, read_write> V : array<f32>;
@group(0) @binding(3) var<storage, read> G : array<f32>;
@group(0) @binding(4) var<uniform> k : Step;
@group(0) @binding(5) var<storage, read> S : array<f32>;
${FINITE_WGSL}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) lid : u32) {
  let i = (wg.y * ${FOLD_ROW}u + wg.x) * ${THREADS}u + lid;
  if (i < arrayLength(&P) && finiteF32(S[0]) && finiteF32(S[1])) {${ADAMW_INPLACE_BODY}  }
}
`;

/** Workgroups for n elements. */
export function inPlaceDispatch(n: number): [number, number] {
  const [x, y] = foldedDispatch(Math.ceil(n / THREADS));
  return [x, y];
}

// The parts of tfjs-backend-webgpu's WebGPUBackend used here (internal API of 4.22; checked at construction).
interface GpuBackend {
  device: GpuDevice;
  tensorMap: { get(id: object): { resource: unknown; values: unknown } };
  commandEncoder: { beginComputePass(): GpuPass } | null;
  commandQueueOwnedIds: WeakSet<object>;
  uploadToGPU(id: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  makeUniforms(u: { type: string; data: number[] }[]): { buffer: object; offset: number; size: number };
}
interface GpuDevice {
  createShaderModule(d: { code: string }): object;
  createComputePipeline(d: object): { getBindGroupLayout(i: number): object };
  createBindGroup(d: object): object;
}
interface GpuPass {
  setPipeline(p: object): void;
  setBindGroup(i: number, g: object): void;
  dispatchWorkgroups(x: number, y: number): void;
  end(): void;
}

const INTERNALS = ['uploadToGPU', 'ensureCommandEncoderReady', 'endComputePassEncoder', 'makeUniforms'] as const;

class WebgpuInPlaceAdamW implements InPlaceAdamW {
  private readonly pipeline: { getBindGroupLayout(i: number): object };
  private readonly layout: object;

  constructor(private readonly b: GpuBackend) {
    const module = b.device.createShaderModule({ code: ADAMW_INPLACE_WGSL });
    this.pipeline = b.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    this.layout = this.pipeline.getBindGroupLayout(0);
  }

  update(items: InPlaceItem[], k: AdamWStepConstants, stats: tf.Tensor): void {
    const b = this.b;
    const uniforms = b.makeUniforms(inPlaceUniformValues(k).map((x) => ({ type: 'float32', data: [x] })));
    const bufferOf = (t: tf.Tensor) => {
      b.uploadToGPU(t.dataId);
      b.commandQueueOwnedIds.add(t.dataId); // tfjs then keeps the buffer out of its pool until this is submitted
      return b.tensorMap.get(t.dataId).resource;
    };
    const S = { binding: 5, resource: { buffer: bufferOf(stats), offset: 0, size: 8 } as never };
    const buffers = items.map((it) => [it.p, it.m, it.v, it.g].map(bufferOf));
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    const pass = (b.commandEncoder as { beginComputePass(): GpuPass }).beginComputePass();
    pass.setPipeline(this.pipeline);
    items.forEach((it, j) => {
      const n = it.p.size;
      const entries = buffers[j].map((buffer, binding) => ({ binding, resource: { buffer, offset: 0, size: n * 4 } as never }));
      entries.push({ binding: 4, resource: uniforms as never }, S);
      pass.setBindGroup(0, b.device.createBindGroup({ layout: this.layout, entries }));
      const [x, y] = inPlaceDispatch(n);
      pass.dispatchWorkgroups(x, y);
    });
    pass.end();
    // The GPU copy is now the only current one: drop values tfjs cached on the host when they were last read.
    for (const it of items) for (const t of [it.p, it.m, it.v]) b.tensorMap.get(t.dataId).values = null;
  }
}

/** Registers the WebGPU implementation (it checks at construction that tfjs-backend-webgpu exposes what it needs). */
export function registerWebgpuInPlaceAdamW(): void {
  registerInPlaceAdamW('webgpu', () => {
    const b = tf.findBackend('webgpu') as unknown as GpuBackend;
    for (const m of INTERNALS) {
      if (typeof b[m] !== 'function') throw new Error(`in-place AdamW: tfjs-backend-webgpu lacks ${m}(); set MLA_WEBGPU_FUSED without 'adamw'`);
    }
    return new WebgpuInPlaceAdamW(b);
  });
}
