/**
 * The typed face of the WASM exports. Only the modules of `ts/wasm/` call `exports.mv_*`; everything
 * else goes through their typed wrappers.
 *
 * ABI (see `crates/macrid-wasm/src/lib.rs`): caller-allocated memory through `mv_alloc`/`mv_free`;
 * arrays as pointer + element count; an `i32` status (0 = ok, else the core's error kind) with the
 * message behind `mv_last_error_ptr`/`mv_last_error_len`. wasm32 pointers are unsigned 32-bit values
 * that JS may see as negative i32s, so every returned pointer goes through `>>> 0`.
 */
import { InternalError, kernelError, MacridError, WasmTrapError } from '../errors.js';
import { wasmModule } from './loader.js';

/** The ABI version this TS code was written for (must equal `mv_abi_version()`). */
export const ABI_VERSION = 1;

/** Memory, status and buffer exports shared by all kernels. */
export interface AbiExports {
  memory: WebAssembly.Memory;
  mv_abi_version(): number;
  mv_alloc(size: number): number;
  mv_free(ptr: number, size: number): void;
  mv_last_error_ptr(): number;
  mv_last_error_len(): number;
  /** Executes `unreachable`: for tests of trap handling. */
  mv_debug_trap(): void;
  mv_buf_len(handle: number): number;
  mv_buf_ptr(handle: number): number;
  mv_buf_free(handle: number): void;
}

/** Ranking and evaluation kernels (`crates/macrid-wasm/src/kernels.rs`). */
export interface RankingExports {
  /** scores users·items f32; exclude CSR (indptr users+1, indices nnz); outputs users·k, users. */
  mv_topk(
    scores: number,
    users: number,
    items: number,
    indptr: number,
    indices: number,
    nnz: number,
    k: number,
    outItems: number,
    outScores: number,
    outCount: number,
  ): number;
}

/** Controllable retrieval (`crates/macrid-wasm/src/control.rs`). */
export interface ControlExports {
  /** h items·d, protos concepts·d, start d (f32); outputs steps u32/f32/f64, steps+1 f64, steps u32, meta 4 f64. */
  mv_traverse(
    h: number,
    items: number,
    d: number,
    protos: number,
    concepts: number,
    start: number,
    dim: number,
    steps: number,
    beam: number,
    gamma: number,
    tau: number,
    outItems: number,
    outValues: number,
    outScores: number,
    outBounds: number,
    outCounts: number,
    outMeta: number,
  ): number;
  /** h items·d, start d, chosen n u32; out 1 f64. */
  mv_traverse_objective(
    h: number,
    items: number,
    d: number,
    start: number,
    dim: number,
    chosen: number,
    n: number,
    gamma: number,
    tau: number,
    out: number,
  ): number;
}

/** Disentanglement analysis (`crates/macrid-wasm/src/analysis.rs`). */
export interface AnalysisExports {
  /** similarity 0 = cosine, 1 = inner; outputs items·concepts f32, items u32, items f32. */
  mv_assign_concepts(
    h: number,
    items: number,
    d: number,
    protos: number,
    concepts: number,
    tau: number,
    similarity: number,
    outC: number,
    outConcept: number,
    outConfidence: number,
  ): number;
  /** c items·concepts f32; CSR users rows over items; out users·concepts f32. */
  mv_user_concept_confidence(
    c: number,
    items: number,
    concepts: number,
    indptr: number,
    indices: number,
    users: number,
    nnz: number,
    out: number,
  ): number;
  /** a, b n u32; outputs na·nb u32, na u32, 3 f64 (NMI, ARI, accuracy). */
  mv_alignment(
    a: number,
    b: number,
    n: number,
    na: number,
    nb: number,
    outTable: number,
    outMatch: number,
    outMetrics: number,
  ): number;
  /** x n·d f32; out 4·d f64. */
  mv_column_stats(x: number, n: number, d: number, out: number): number;
  /** x n·dim f32; out n·2 f32, outKl 1 f64. */
  mv_tsne(
    x: number,
    n: number,
    dim: number,
    perplexity: number,
    iterations: number,
    seed: number,
    out: number,
    outKl: number,
  ): number;
  /** x n·d f32; outCentroids k·d f32, outLabels n u32, outObjective 1 f64. */
  mv_spherical_kmeans(
    x: number,
    n: number,
    d: number,
    k: number,
    restarts: number,
    maxIter: number,
    seed: number,
    outCentroids: number,
    outLabels: number,
    outObjective: number,
  ): number;
}

/** Training kernels of the models (`crates/macrid-wasm/src/nn.rs`); optional arrays are null (0) pointers. */
export interface NnExports {
  mv_sparse_mix_forward(
    users: number,
    items: number,
    concepts: number,
    d: number,
    indptr: number,
    indices: number,
    nnz: number,
    mask: number,
    c: number,
    t: number,
    eps: number,
    out: number,
    norms: number,
  ): number;
  mv_sparse_mix_backward(
    users: number,
    items: number,
    concepts: number,
    d: number,
    indptr: number,
    indices: number,
    nnz: number,
    mask: number,
    c: number,
    t: number,
    norms: number,
    out: number,
    dout: number,
    dc: number,
    dt: number,
  ): number;
  mv_mix_decoder_log_probs(
    users: number,
    items: number,
    concepts: number,
    d: number,
    z: number,
    h: number,
    c: number,
    bias: number,
    scale: number,
    bound: number,
    out: number,
  ): number;
  mv_mix_decoder_train(
    users: number,
    items: number,
    concepts: number,
    d: number,
    z: number,
    h: number,
    c: number,
    bias: number,
    scale: number,
    bound: number,
    indptr: number,
    indices: number,
    nnz: number,
    negatives: number,
    logWeight: number,
    s: number,
    gradScale: number,
    loss: number,
    dz: number,
    dh: number,
    dc: number,
    dbias: number,
  ): number;
  mv_macrid_slice_train(
    dims: number,
    ndims: number,
    params: number,
    model: number,
    mask: number,
    hiddenMasks: number,
    eps: number,
    negatives: number,
    logWeight: number,
    out: number,
  ): number;
  mv_mult_slice_train(
    shapes: number,
    layers: number,
    latent: number,
    users: number,
    items: number,
    indptr: number,
    indices: number,
    nnz: number,
    weights: number,
    biases: number,
    mask: number,
    eps: number,
    negatives: number,
    logWeight: number,
    nNeg: number,
    gradScale: number,
    klScale: number,
    loss: number,
    kl: number,
    dw: number,
    db: number,
  ): number;
  mv_macrid_encode(dims: number, ndims: number, params: number, model: number, z: number): number;
  mv_gemm(transA: number, transB: number, m: number, n: number, k: number, a: number, b: number, c: number): number;
  mv_noise(kind: number, seedHi: number, seedLo: number, param: number, n: number, out: number): number;
  mv_dense_forward(
    rows: number,
    din: number,
    dout: number,
    x: number,
    w: number,
    b: number,
    mask: number,
    act: number,
    y: number,
  ): number;
  mv_dense_backward(
    rows: number,
    din: number,
    dout: number,
    x: number,
    w: number,
    y: number,
    mask: number,
    act: number,
    dy: number,
    dx: number,
    dw: number,
    db: number,
  ): number;
  mv_head_forward(
    rows: number,
    d: number,
    y: number,
    eps: number,
    kind: number,
    sigma0: number,
    normalize: number,
    z: number,
    kl: number,
  ): number;
  mv_head_backward(
    rows: number,
    d: number,
    y: number,
    eps: number,
    kind: number,
    sigma0: number,
    normalize: number,
    dz: number,
    klScale: number,
    dy: number,
  ): number;
}

/** Evaluation kernels (`crates/macrid-wasm/src/eval.rs`). */
export interface EvalExports {
  /** Rows lo..lo+users of a batch of `rows`: scores users·items f32 (the chunk); foldIn/target CSR (the batch); ks nks u32; outputs rows·nks f64, f64, u32 and rows u32. */
  mv_ranking_metrics(
    scores: number,
    lo: number,
    users: number,
    rows: number,
    items: number,
    foldIndptr: number,
    foldIndices: number,
    foldNnz: number,
    targetIndptr: number,
    targetIndices: number,
    targetNnz: number,
    ks: number,
    nks: number,
    outNdcg: number,
    outRecall: number,
    outHits: number,
    outTargetSize: number,
  ): number;
}

/** Batch construction (`crates/macrid-wasm/src/batch.rs`); `normalize`: 0 binary, 1 L2. */
export interface BatchExports {
  /** CSR rows (indptr rows+1, indices nnz) → dense rows·cols f32. */
  mv_dense_batch(
    indptr: number,
    indices: number,
    rows: number,
    nnz: number,
    cols: number,
    normalize: number,
    out: number,
  ): number;
  /** CSR rows → indices (nnz u32), offsets (rows+1 u32), segment ids (nnz u32), values (nnz f32). */
  mv_sparse_batch(
    indptr: number,
    indices: number,
    rows: number,
    nnz: number,
    cols: number,
    normalize: number,
    outIndices: number,
    outOffsets: number,
    outSegmentIds: number,
    outValues: number,
  ): number;
}

/** Negative sampling (`crates/macrid-wasm/src/sampling.rs`); `popLen` 0 = uniform. */
export interface SamplingExports {
  /** positives CSR (rows+1, nnz); popularity popLen f32; outputs rows·s u32 and f32. */
  mv_sample_negatives(
    indptr: number,
    indices: number,
    rows: number,
    nnz: number,
    items: number,
    popularity: number,
    popLen: number,
    alpha: number,
    s: number,
    exclude: number,
    seed: number,
    stream: number,
    outItems: number,
    outLogQ: number,
  ): number;
  /** ln p(i) for every item into out (items f32). */
  mv_sampling_log_probs(items: number, popularity: number, popLen: number, alpha: number, out: number): number;
}

/** Correlations (`crates/macrid-wasm/src/stats.rs`). */
export interface StatsExports {
  /** x n·d f32 → out d·d f64, outConstant d u8. */
  mv_correlation_matrix(x: number, n: number, d: number, out: number, outConstant: number): number;
  /** x n·d f32 → outScore one f64, outConstant d u8. */
  mv_independence_score(x: number, n: number, d: number, outScore: number, outConstant: number): number;
}

/**
 * The data pipeline (`crates/macrid-wasm/src/data.rs`): handle-based stateful objects (ratings parser,
 * prepared dataset, synthetic generator); `out*` arguments point to caller-allocated `u32`s receiving a
 * handle or an owned buffer id. Option arguments are UTF-8 `key=value` lines.
 */
export interface DataExports {
  mv_ratings_new(opts: number, optsLen: number, outHandle: number): number;
  mv_ratings_feed(handle: number, ptr: number, len: number): number;
  mv_ratings_end_file(handle: number): number;
  mv_ratings_stats(handle: number, outBuf: number): number;
  mv_ratings_rows(handle: number, outUsers: number, outItems: number): number;
  mv_ratings_ids(handle: number, which: number, outBuf: number): number;
  mv_ratings_free(handle: number): void;
  mv_prepare(handle: number, opts: number, optsLen: number, outHandle: number): number;
  mv_prepared_part(handle: number, part: number, outBuf: number): number;
  mv_prepared_free(handle: number): void;
  mv_synth_new(opts: number, optsLen: number, outHandle: number): number;
  mv_synth_next(handle: number, maxUsers: number, outRatings: number, outIntentions: number): number;
  mv_synth_part(handle: number, part: number, outBuf: number): number;
  mv_synth_free(handle: number): void;
  mv_item_meta(
    data: number,
    dataLen: number,
    format: number,
    formatLen: number,
    genres: number,
    genresLen: number,
    outBuf: number,
  ): number;
}

/** Item–item kernels (`crates/macrid-wasm/src/itemsim.rs`): Gram, EASE, ItemKNN, scoring. */
export interface ItemSimExports {
  mv_gram(indptr: number, rows: number, indices: number, nnz: number, cols: number, out: number): number;
  mv_ease_weights(g: number, m: number, lambda: number, double: number, out: number): number;
  mv_knn_weights(
    g: number,
    m: number,
    k: number,
    shrink: number,
    outNbr: number,
    outSim: number,
    outCount: number,
  ): number;
  mv_score_dense(
    indptr: number,
    rows: number,
    indices: number,
    nnz: number,
    m: number,
    w: number,
    n: number,
    out: number,
  ): number;
  mv_score_sparse(
    indptr: number,
    rows: number,
    indices: number,
    nnz: number,
    m: number,
    wIndptr: number,
    wIndices: number,
    wValues: number,
    wNnz: number,
    n: number,
    out: number,
  ): number;
  /** `crates/macrid-wasm/src/serve.rs`: the reference models' scores and top k per user (mode 0 dense, 1 sparse, 2 constant). */
  mv_item_topk(
    mode: number,
    xIndptr: number,
    users: number,
    xIndices: number,
    xNnz: number,
    items: number,
    w: number,
    wIndptr: number,
    wIndices: number,
    wNnz: number,
    exIndptr: number,
    exIndices: number,
    exNnz: number,
    candIndptr: number,
    candIndices: number,
    candNnz: number,
    k: number,
    outItems: number,
    outScores: number,
    outCount: number,
  ): number;
  /** `crates/macrid-wasm/src/serve.rs`: `src` (items × cols) in the serving kernel's tile-major layout. */
  mv_tile_major(src: number, items: number, cols: number, dst: number): number;
  /** `crates/macrid-wasm/src/serve.rs`: the VAEs' decoder fused with top k (`ht`, `ct` tile-major; ct, bias: 0 = none). */
  mv_mix_topk(
    users: number,
    concepts: number,
    d: number,
    items: number,
    z: number,
    ht: number,
    ct: number,
    bias: number,
    scale: number,
    hasBound: number,
    bound: number,
    exIndptr: number,
    exIndices: number,
    exNnz: number,
    k: number,
    outItems: number,
    outScores: number,
    outCount: number,
  ): number;
}

/** Every export of the module. Area interfaces are added here as kernels are added. */
export type RawExports = AbiExports &
  RankingExports &
  EvalExports &
  BatchExports &
  SamplingExports &
  StatsExports &
  ItemSimExports &
  ControlExports &
  AnalysisExports &
  DataExports &
  NnExports;

type TypedArray = Float32Array | Float64Array | Uint32Array | Int32Array | Uint8Array;
type TypedArrayCtor<T extends TypedArray> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  BYTES_PER_ELEMENT: number;
};

/**
 * Allocations made for one kernel call; all are freed when the call ends (also on error). Views
 * over WASM memory are created on demand from the current `memory.buffer`, so growth is safe.
 */
export class Arena {
  private readonly allocations: Array<[number, number]> = [];
  constructor(
    private readonly exports: RawExports,
    private readonly residents?: ResidentCache,
  ) {}

  /**
   * `data` in WASM memory: with a `key` (see {@link ResidentCache}), the instance's resident copy —
   * made on the first call with that key and kept for later calls — else a copy for this call.
   */
  put(data: TypedArray, key?: string): number {
    return this.putWith(data.byteLength, (ptr) => this.write(ptr, data), key);
  }

  /**
   * `bytes` bytes filled by `fill(ptr)` (which may allocate temporaries in this arena): resident under
   * `key` as {@link put}, filled once; without a key, for this call.
   */
  putWith(bytes: number, fill: (ptr: number) => void, key?: string): number {
    if (key === undefined || !this.residents) {
      const ptr = this.alloc(bytes);
      fill(ptr);
      return ptr;
    }
    return this.residents.get(key, bytes, fill);
  }

  /** Allocates `bytes` bytes and returns the pointer. */
  alloc(bytes: number): number {
    const ptr = this.exports.mv_alloc(bytes) >>> 0;
    if (ptr === 0) throw new MacridError(`WASM allocation of ${bytes} bytes failed (out of memory)`);
    this.allocations.push([ptr, bytes]);
    return ptr;
  }

  /** Copies a typed array into fresh WASM memory and returns the pointer. */
  input(data: TypedArray): number {
    const ptr = this.alloc(data.byteLength);
    this.write(ptr, data);
    return ptr;
  }

  /** Copies `data` into WASM memory at `ptr` (memory this arena or a resident array owns). */
  write(ptr: number, data: TypedArray): void {
    new Uint8Array(this.exports.memory.buffer, ptr, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  }

  /** Allocates room for `length` elements of `ctor`'s type. */
  output<T extends TypedArray>(ctor: TypedArrayCtor<T>, length: number): number {
    return this.alloc(length * ctor.BYTES_PER_ELEMENT);
  }

  /** Copies `length` elements at `ptr` out of WASM memory into a JS-owned array. */
  read<T extends TypedArray>(ctor: TypedArrayCtor<T>, ptr: number, length: number): T {
    const view = new ctor(this.exports.memory.buffer as ArrayBuffer, ptr, length);
    return view.slice() as T;
  }

  freeAll(): void {
    for (const [ptr, bytes] of this.allocations) this.exports.mv_free(ptr, bytes);
    this.allocations.length = 0;
  }
}

/**
 * Arrays kept in one instance's WASM memory across kernel calls (as tfjs-backend-wasm keeps tensor data
 * resident), so a served model's item matrices are copied (and transposed) into each worker once, not
 * once per group of users. A key is `<group>/<name>`; the group is a model's `key` (a random id made
 * when its scoring form is built: the arrays behind a key never change). The {@link MAX_RESIDENT_GROUPS}
 * groups used most recently stay; using another frees the least recently used group's memory.
 */
export class ResidentCache {
  private readonly groups = new Map<string, Map<string, [number, number]>>();
  constructor(private readonly exports: () => RawExports) {}

  /** The pointer of `key`'s `bytes` bytes; on a miss they are allocated and `fill(ptr)` writes them. */
  get(key: string, bytes: number, fill: (ptr: number) => void): number {
    const slash = key.indexOf('/');
    const group = slash < 0 ? key : key.slice(0, slash);
    let g = this.groups.get(group);
    if (g) {
      // Most recently used last.
      this.groups.delete(group);
      this.groups.set(group, g);
      const hit = g.get(key);
      if (hit) {
        if (hit[1] !== bytes) {
          throw new InternalError(`resident array '${key}' is ${hit[1]} bytes but ${bytes} were asked for`);
        }
        return hit[0];
      }
    } else {
      while (this.groups.size >= MAX_RESIDENT_GROUPS) this.release(this.groups.keys().next().value as string);
      g = new Map();
      this.groups.set(group, g);
    }
    const e = this.exports();
    const ptr = e.mv_alloc(bytes) >>> 0;
    if (ptr === 0) throw new MacridError(`WASM allocation of ${bytes} bytes for '${key}' failed (out of memory)`);
    try {
      fill(ptr);
    } catch (err) {
      e.mv_free(ptr, bytes);
      throw err;
    }
    g.set(key, [ptr, bytes]);
    return ptr;
  }

  /** Frees a group's arrays (no-op for an unknown group). */
  release(group: string): void {
    const g = this.groups.get(group);
    if (!g) return;
    const e = this.exports();
    for (const [ptr, bytes] of g.values()) e.mv_free(ptr, bytes);
    this.groups.delete(group);
  }

  /** Forgets every array without freeing (the instance's memory was replaced). */
  clear(): void {
    this.groups.clear();
  }

  /** Resident bytes, all groups together. */
  bytes(): number {
    let n = 0;
    for (const g of this.groups.values()) for (const [, b] of g.values()) n += b;
    return n;
  }
}

/** Models whose arrays one instance keeps resident at once (see {@link ResidentCache}). */
export const MAX_RESIDENT_GROUPS = 4;

/**
 * One instance of the kernels' module with its own memory. Each thread owns one. A trap discards
 * the instance and builds a fresh one before the {@link WasmTrapError} is thrown.
 */
export class WasmInstance {
  private inst!: WebAssembly.Instance;
  /** How many times this instance was rebuilt after a trap. */
  rebuilds = 0;
  /** Arrays kept across calls (see {@link ResidentCache}); emptied when a trap rebuilds the instance. */
  readonly residents = new ResidentCache(() => this.exports);

  constructor(private readonly module: WebAssembly.Module = wasmModule()) {
    this.build();
  }

  private build(): void {
    this.inst = new WebAssembly.Instance(this.module, {});
    const version = this.exports.mv_abi_version();
    if (version !== ABI_VERSION) {
      throw new InternalError(
        `WASM module ABI version ${version} does not match the TS code's ${ABI_VERSION}: rebuild with 'npm run build'`,
      );
    }
  }

  get exports(): RawExports {
    return this.inst.exports as unknown as RawExports;
  }

  /** Bytes of WASM memory currently reserved by this instance (grows, never shrinks). */
  memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /** The core's last error message. */
  lastError(): string {
    const e = this.exports;
    const ptr = e.mv_last_error_ptr() >>> 0;
    const len = e.mv_last_error_len() >>> 0;
    return new TextDecoder().decode(new Uint8Array(e.memory.buffer, ptr, len));
  }

  /** Throws the typed error for a non-zero status returned by export `fn`. */
  check(fn: string, status: number): void {
    if (status !== 0) throw kernelError(fn, status, this.lastError());
  }

  /**
   * Runs `body` with an arena that is freed afterwards. A trap inside becomes a
   * {@link WasmTrapError} after the instance has been rebuilt (its memory is then gone, so the
   * arena is not freed).
   */
  call<T>(fn: string, body: (arena: Arena, exports: RawExports) => T): T {
    const arena = new Arena(this.exports, this.residents);
    try {
      const out = body(arena, this.exports);
      arena.freeAll();
      return out;
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        this.residents.clear();
        this.build();
        this.rebuilds++;
        throw new WasmTrapError(`${fn}: the WASM module trapped (${e.message}); the instance was rebuilt`, {
          cause: e,
        });
      }
      arena.freeAll();
      throw e;
    }
  }

  /** Copies an owned result buffer out and frees it. */
  takeBuffer(handle: number): Uint8Array {
    const e = this.exports;
    const ptr = e.mv_buf_ptr(handle) >>> 0;
    const len = e.mv_buf_len(handle) >>> 0;
    const out = new Uint8Array(e.memory.buffer, ptr, len).slice();
    e.mv_buf_free(handle);
    return out;
  }
}

let mainInstance: WasmInstance | undefined;

/** The instance of the current thread (created on first use). */
export function threadInstance(): WasmInstance {
  if (!mainInstance) mainInstance = new WasmInstance();
  return mainInstance;
}
