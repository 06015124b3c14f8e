// A decode's step graphs (lib/ops/step-graph.ts): single-token steps are recorded while they run, and once two
// consecutive ones make a graph, later steps replay it instead of running the model through tfjs. The holder is
// shared by every state of one decode (GPT.startDecode makes it, GPT.endDecode disposes it); what it knows is
// explicit: the recording waiting for its successor, the graph and the one state it may replay from.
//
// A graph is replayed only from the state its last step produced, while every cache buffer has room for the new
// row (a step that would grow a buffer writes new storage, which the graph does not bind: it runs eagerly, and the
// next two steps record again). A step under tf.profile runs eagerly and unrecorded, so a profiled step shows its
// kernels; a graph survives it when the step kept every cache's storage.
//
// A decode's weights must not change while it runs: a replay binds the buffers its recording bound (the weights and
// what the decode derived from them), so weights written in place between two steps of one decode (a training step
// in between) would reach eager steps but not replays. Start a new decode after changing the weights.
import * as tf from '@tensorflow/tfjs-core';
import { markWritten } from '../ops/data-version';
import { type StepGraph, type StepRecording, stepGraphs } from '../ops/step-graph';
import type { LayerCache } from '../attention/types';

/** The part of a decode state a graph needs (the model's DecodeState). */
export interface GraphableState {
  readonly length: number;
  readonly caches: readonly LayerCache[];
}

/** What the graphs of one decode did: steps by how they ran, graphs made, and why any were refused. */
export interface DecodeGraphStats {
  /** Steps run through tfjs without recording (a growing buffer, tf.profile, graphs refused). */
  eager: number;
  /** Steps run through tfjs and recorded. */
  recorded: number;
  replayed: number;
  graphs: number;
  /** Dispatches of the newest graph. */
  dispatches: number | null;
  /** Each refusal's reason, oldest first (at most REASONS_KEPT). */
  refusals: string[];
  /** Set when graphs stopped for this decode: after REFUSALS_BEFORE_OFF refusals in a row. */
  off: string | null;
}

/** Every step a decode's graphs saw, however it ran. */
export function stepsSeen(s: DecodeGraphStats): number {
  return s.eager + s.recorded + s.replayed;
}

/** Refusals in a row after which a decode stops recording (a step whose shape never settles). */
export const REFUSALS_BEFORE_OFF = 3;
const REASONS_KEPT = 8;

/** The fewest time rows among a state's cache buffers: the positions a graph can write before one must grow. */
export function cacheRoom(state: GraphableState): number {
  let room = Infinity;
  for (const c of state.caches) for (const t of Object.values(c.tensors)) room = Math.min(room, t.shape[2] as number);
  return room === Infinity ? 0 : room;
}

/** Whether two states' caches hold the same storage (an eager step that wrote in place, grew nothing). */
function sameStorage(a: GraphableState, b: GraphableState): boolean {
  if (a.caches.length !== b.caches.length) return false;
  return a.caches.every((c, i) => {
    const d = b.caches[i];
    const keys = Object.keys(c.tensors);
    return keys.length === Object.keys(d.tensors).length && keys.every((k) => d.tensors[k]?.dataId === c.tensors[k].dataId);
  });
}

/** `state` one replayed token on: the same storage, each cache one row longer. */
function advanced<S extends GraphableState>(state: S): S {
  return { ...state, length: state.length + 1, caches: state.caches.map((c) => ({ ...c, length: c.length + 1 })) };
}

export class DecodeGraphs {
  private waiting?: { rec: StepRecording; after: GraphableState };
  private graph?: { g: StepGraph; position: number; expect: GraphableState };
  private refusedInARow = 0;
  readonly stats: DecodeGraphStats = { eager: 0, recorded: 0, replayed: 0, graphs: 0, dispatches: null, refusals: [], off: null };

  /**
   * One token per sequence from `state`: replayed where a graph may, else `eager` (the model's own step), recorded
   * where it may become a graph.
   */
  step<S extends GraphableState>(ids: tf.Tensor2D, state: S, eager: (ids: tf.Tensor2D, s: S) => { logits: tf.Tensor3D; state: S }): { logits: tf.Tensor3D; state: S } {
    const room = state.length < cacheRoom(state);
    const g = this.graph;
    if (g && g.expect === state && room && !profiling()) {
      const written = state.caches.flatMap((c) => Object.values(c.tensors));
      const out = g.g.replay(state.length - g.position, [ids], written);
      if (out) {
        for (const t of written) markWritten(t);
        const next = advanced(state);
        g.expect = next;
        this.stats.replayed++;
        return { logits: out[0] as tf.Tensor3D, state: next };
      }
      this.dropGraph(); // a positional kernel changes shader here: record again
    } else if (g && g.expect === state && !room) {
      this.dropGraph(); // the step grows a buffer: the graph's pins would hold the old storage (a whole cache) alive
    }
    const sg = stepGraphs();
    if (!sg || this.stats.off !== null || !room || profiling()) {
      const r = eager(ids, state);
      this.stats.eager++;
      if (g && g.expect === state && sameStorage(state, r.state)) g.expect = r.state;
      return r;
    }
    const { result, recording } = sg.record(() => eager(ids, state), [ids], (r) => [r.logits]);
    this.stats.recorded++;
    const before = this.waiting;
    this.waiting = undefined;
    if (before && before.after === state) {
      const made = sg.graph(before.rec, recording);
      before.rec.dispose();
      if (typeof made !== 'string') {
        this.dropGraph();
        this.graph = { g: made, position: state.length, expect: result.state };
        this.stats.graphs++;
        this.stats.dispatches = made.dispatches;
        this.refusedInARow = 0;
        return result;
      }
      this.refused(made);
    } else {
      before?.rec.dispose();
    }
    if (this.stats.off === null) this.waiting = { rec: recording, after: result.state };
    else recording.dispose();
    return result;
  }

  private refused(reason: string): void {
    if (this.stats.refusals.length < REASONS_KEPT) this.stats.refusals.push(reason);
    if (++this.refusedInARow >= REFUSALS_BEFORE_OFF) this.stats.off = `${REFUSALS_BEFORE_OFF} refusals in a row, the last: ${reason}`;
  }

  private dropGraph(): void {
    this.graph?.g.dispose();
    this.graph = undefined;
  }

  dispose(): void {
    this.dropGraph();
    this.waiting?.rec.dispose();
    this.waiting = undefined;
  }
}

/** Whether tf.profile is running: a profiled step must run its kernels to be listed. */
function profiling(): boolean {
  return (tf.engine() as unknown as { state: { profiling: boolean } }).state.profiling;
}

/** A decode's graphs where the active backend has them (else undefined: every step runs eagerly). */
export function decodeGraphsFor(mode: string): DecodeGraphs | undefined {
  return mode !== 'none' && stepGraphs() ? new DecodeGraphs() : undefined;
}
