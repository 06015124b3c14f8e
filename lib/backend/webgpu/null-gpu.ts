// A WebGPU that runs nothing: every call tfjs-backend-webgpu and the project's kernels make is accepted and
// returns at once, buffers read back as zeros. Under it a decode step costs only its host side in JavaScript —
// tfjs's op dispatch, shape work, program keys, uniforms, bind group descriptors, the model's own code — without
// Dawn's native calls or the GPU, so that part of a host-bound step can be measured and cut on a machine with no
// GPU (MLA_WEBGPU_NULL_DEVICE=on; `mla bench decode --backend webgpu` records it in its settings). Its numbers
// are host time only and its outputs meaningless; what a real device adds per dispatch on top (Dawn's binding,
// ~20 µs on the H200: scripts/device/dispatch-bench.js) is measured there.
// It does keep Dawn's size checks on buffers and bindings, reported through error scopes as Dawn reports them, so
// work that a real device refuses (a 5.2 GB logits binding) fails here too, with no GPU.

/** What the adapter reports: the H200's Dawn limits that tfjs and the project's kernels read (DEVICE.md). */
const LIMITS: Record<string, number> = {
  maxComputeWorkgroupStorageSize: 49152,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 2 ** 31 - 4,
  maxBufferSize: 2 ** 40,
  maxStorageBuffersPerShaderStage: 10,
  maxUniformBufferBindingSize: 65536,
  maxBindGroups: 4,
  maxBindingsPerBindGroup: 1000,
  minStorageBufferOffsetAlignment: 256,
  minUniformBufferOffsetAlignment: 256,
  subgroupMinSize: 32,
  subgroupMaxSize: 32,
};
const FEATURES = ['subgroups', 'subgroup-size-control'];

class NullBuffer {
  mapState: 'unmapped' | 'mapped' = 'unmapped';
  constructor(
    readonly size: number,
    readonly usage: number,
    mappedAtCreation: boolean,
  ) {
    if (mappedAtCreation) this.mapState = 'mapped';
  }
  async mapAsync(): Promise<void> {
    this.mapState = 'mapped';
  }
  getMappedRange(offset = 0, size?: number): ArrayBuffer {
    return new ArrayBuffer(size ?? this.size - offset);
  }
  unmap(): void {
    this.mapState = 'unmapped';
  }
  destroy(): void {}
}

class NullPipeline {
  private readonly layout = {};
  getBindGroupLayout(): object {
    return this.layout;
  }
}

/** WebGPU's classes and flag constants, as Dawn's `globals` provides them (the flags' values are the spec's). */
export const NULL_GPU_GLOBALS = {
  // tfjs tells buffers from textures with instanceof.
  GPUBuffer: NullBuffer,
  GPUTexture: class NullTexture {},
  GPUExternalTexture: class NullExternalTexture {},
  GPUBufferUsage: { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, INDEX: 16, VERTEX: 32, UNIFORM: 64, STORAGE: 128, INDIRECT: 256, QUERY_RESOLVE: 512 },
  GPUMapMode: { READ: 1, WRITE: 2 },
  GPUTextureUsage: { COPY_SRC: 1, COPY_DST: 2, TEXTURE_BINDING: 4, STORAGE_BINDING: 8, RENDER_ATTACHMENT: 16 },
  GPUShaderStage: { VERTEX: 1, FRAGMENT: 2, COMPUTE: 4 },
};

interface BindEntry {
  binding: number;
  resource: { buffer?: unknown; offset?: number; size?: number };
}

/** Dawn's error scopes: an error goes to the innermost open scope of its filter (none open: it is dropped). */
class ErrorScopes {
  private readonly stack: { filter: string; error: { message: string } | null }[] = [];
  push(filter: string): void {
    this.stack.push({ filter, error: null });
  }
  async pop(): Promise<{ message: string } | null> {
    const top = this.stack.pop();
    if (!top) throw new Error('popErrorScope: no error scope is open');
    return top.error;
  }
  report(filter: string, message: string): void {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      if (this.stack[i].filter !== filter) continue;
      this.stack[i].error ??= { message };
      return;
    }
  }
}

/** Dawn's validation of a bind group's buffer entries against the binding limits (its messages, one line each). */
function checkBindings(entries: BindEntry[], scopes: ErrorScopes): void {
  for (const e of entries) {
    const b = e.resource?.buffer;
    if (!(b instanceof NullBuffer)) continue;
    const size = e.resource.size ?? b.size - (e.resource.offset ?? 0);
    const storage = (b.usage & NULL_GPU_GLOBALS.GPUBufferUsage.STORAGE) !== 0;
    const limit = storage ? LIMITS.maxStorageBufferBindingSize : LIMITS.maxUniformBufferBindingSize;
    if (size > limit) {
      scopes.report('validation', `Binding size (${size}) of [Buffer (unlabeled)] is larger than the maximum ${storage ? 'storage' : 'uniform'} buffer binding size (${limit}).`);
      return;
    }
  }
}

function nullDevice() {
  const scopes = new ErrorScopes();
  const pass = {
    setPipeline() {},
    setBindGroup() {},
    dispatchWorkgroups() {},
    dispatchWorkgroupsIndirect() {},
    end() {},
  };
  const encoder = {
    beginComputePass: () => pass,
    copyBufferToBuffer(src: unknown, _srcOffset: number, dst: unknown) {
      // Dawn's validation, which the GPU applies and a no-op encoder would hide.
      if (src === dst) scopes.report('validation', 'Source and destination are the same buffer ([Buffer (unlabeled)]).');
    },
    copyBufferToTexture() {},
    clearBuffer() {},
    resolveQuerySet() {},
    writeTimestamp() {},
    finish: () => ({}),
  };
  return {
    features: new Set(FEATURES),
    limits: { ...LIMITS },
    label: 'null',
    lost: new Promise<never>(() => {}),
    queue: {
      submit() {},
      writeBuffer() {},
      onSubmittedWorkDone: async () => undefined,
      copyExternalImageToTexture() {},
    },
    createBuffer: (d: { size: number; usage: number; mappedAtCreation?: boolean }) => {
      if (d.size > LIMITS.maxBufferSize) scopes.report('validation', `Buffer size (${d.size}) exceeds the max buffer size limit (${LIMITS.maxBufferSize}).`);
      return new NullBuffer(d.size, d.usage, d.mappedAtCreation ?? false);
    },
    createShaderModule: () => ({ getCompilationInfo: async () => ({ messages: [] }) }),
    createComputePipeline: () => new NullPipeline(),
    createComputePipelineAsync: async () => new NullPipeline(),
    createBindGroupLayout: () => ({}),
    createPipelineLayout: () => ({}),
    createBindGroup: (d: { entries: BindEntry[] }) => (checkBindings(d.entries ?? [], scopes), {}),
    createCommandEncoder: () => encoder,
    createQuerySet: () => ({ destroy() {} }),
    createTexture: () => ({ createView: () => ({}), destroy() {} }),
    importExternalTexture: () => ({}),
    pushErrorScope: (filter: string) => scopes.push(filter),
    popErrorScope: () => scopes.pop(),
    addEventListener() {},
    removeEventListener() {},
    destroy() {},
  };
}

const INFO = { vendor: 'null', architecture: '', device: 'null-device', description: 'no GPU: host time only' };

/** A navigator.gpu whose adapter hands out null devices (the dispatches they take are counted by lib/backend/webgpu/dispatch.ts). */
export function createNullGpu(): { requestAdapter(): Promise<unknown> } {
  const adapter = {
    features: new Set(FEATURES),
    limits: { ...LIMITS },
    info: INFO,
    isFallbackAdapter: false,
    requestAdapterInfo: async () => INFO,
    requestDevice: async () => nullDevice(),
  };
  return { requestAdapter: async () => adapter };
}
