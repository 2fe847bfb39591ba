/**
 * Entry point of a pool worker. It instantiates its own copy of the compiled module it receives
 * through `workerData` and runs the kernels of the one table (`ts/runtime/kernels.ts`) on request. A trap rebuilds this worker's instance
 * (see `WasmInstance.call`) and is answered as a serialized `WasmTrapError`.
 */
import { workerData } from 'piscina';
import { serializeError } from '../errors.js';
import { runKernel, type Task, type TaskReply } from '../runtime/kernels.js';
import { WasmInstance } from '../wasm/raw.js';

const data = workerData as { module: WebAssembly.Module };
const instance = new WasmInstance(data.module);

export default function run(task: Task): TaskReply {
  try {
    return { ok: true, value: runKernel(instance, task.op, task.args as never) };
  } catch (e) {
    return { ok: false, error: serializeError(e) };
  }
}
