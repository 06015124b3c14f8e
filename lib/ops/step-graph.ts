// Step graphs: a decode step recorded once as the GPU commands it issued, then replayed for later positions without
// running tfjs at all — WebGPU's counterpart of a CUDA graph. A batch-1 decode step of the 35M models issues ~100
// dispatches, and through tfjs each costs ~90 µs of host time on the GPU machine's host (tensor bookkeeping, shader
// keys, uniform buffers, bind groups): the step is host-bound at ~9 ms while its kernels take ~2 ms. A replay
// encodes the same pipelines and bind groups into one command buffer with only the uniforms that depend on the
// position rewritten.
//
// What makes a replay exact: the step's every buffer (weights, caches, intermediates) is pinned for the graph's
// life, so a replay writes the same buffers in the same order as the recorded step; the kernels whose uniforms or
// workgroup counts depend on the position (cache writes, rotations, the decode attention) declare which of their
// attributes are positions, and the replay recomputes those kernels' uniforms and dispatches from the shifted
// attributes. Every other dispatch must issue the same uniforms at every position. A graph is made from two
// recordings one position apart and refused (with its reason) unless each positional kernel's recomputation for
// the earlier position reproduces the earlier recording exactly and every other dispatch is identical in both.
// The backend implements this (lib/backend/webgpu/step-graph.ts); lib/model/decode-graph.ts drives it.
import * as tf from '@tensorflow/tfjs-core';

/** One recorded step: its GPU work, pinned. */
export interface StepRecording {
  /** Compute dispatches it recorded. */
  readonly dispatches: number;
  /** Why it cannot become a graph (a copy, a read or a timer inside the step), or null. */
  readonly unusable: string | null;
  dispose(): void;
}

/** A step's commands, replayable at other positions. */
export interface StepGraph {
  readonly dispatches: number;
  /**
   * Runs the step `shift` positions after the one recorded: each input tensor's contents are copied into the
   * recorded input's buffer, the commands submitted, and each output comes back as a new tensor (a copy of the
   * recorded output's buffer). Null when a positional kernel would take another shader at that position (its key
   * or its number of stages changes): the caller runs the step eagerly instead. `written`: tensors the step writes
   * in place (a cache), whose host copies, if any, are stale after it.
   */
  replay(shift: number, inputs: tf.Tensor[], written?: tf.Tensor[]): tf.Tensor[] | null;
  dispose(): void;
}

/** What a backend offers to record and replay steps. */
export interface StepGraphBackend {
  /**
   * Runs `run` eagerly (its result is the real one) while recording the GPU work it issues; `inputs` are the
   * tensors a replay will feed, `outputs` picks from the result the tensors a replay returns.
   */
  record<T>(run: () => T, inputs: tf.Tensor[], outputs: (result: T) => tf.Tensor[]): { result: T; recording: StepRecording };
  /** A graph from `later`, recorded one position after `earlier`; a string says why not. */
  graph(earlier: StepRecording, later: StepRecording): StepGraph | string;
}

const backends = new Map<string, StepGraphBackend>();

/** A backend registers its step graphs under its name (the webgpu backend, when MLA_DECODE_GRAPH is on). */
export function registerStepGraphs(backendName: string, impl: StepGraphBackend | null): void {
  if (impl) backends.set(backendName, impl);
  else backends.delete(backendName);
}

/** The active backend's step graphs, or null (the CPU backends: their steps have no dispatch overhead to save). */
export function stepGraphs(): StepGraphBackend | null {
  return backends.get(tf.getBackend()) ?? null;
}
