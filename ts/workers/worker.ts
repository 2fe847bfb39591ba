/**
 * Entry point of a pool worker. It instantiates its own copy of the compiled module it receives
 * through `workerData` and runs {@link OPS} on request. A trap rebuilds this worker's instance
 * (see `WasmInstance.call`) and is answered as a serialized `WasmTrapError`.
 */
import { workerData } from 'piscina';
import { serializeError } from '../errors.js';
import { WasmInstance } from '../wasm/raw.js';
import { OPS, type Task, type TaskReply } from './ops.js';

const data = workerData as { module: WebAssembly.Module };
const instance = new WasmInstance(data.module);

export default function run(task: Task): TaskReply {
  try {
    const op = OPS[task.op] as (inst: WasmInstance, args: unknown) => unknown;
    if (!op) throw new Error(`unknown worker op '${String(task.op)}'`);
    return { ok: true, value: op(instance, task.args) };
  } catch (e) {
    return { ok: false, error: serializeError(e) };
  }
}
