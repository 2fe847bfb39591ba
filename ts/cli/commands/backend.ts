/** `macridvae backend`: which TensorFlow.js backend would be used here, with how many threads, on which device, and where training steps would run. */
import { COMPUTES, type Compute } from '../../models/tfjs/index.js';
import { BACKENDS, type BackendName, selectBackend } from '../../tf/backend.js';
import { backendOnGpu, computeInfo } from '../../train/compute.js';
import { BACKEND_OPTION, type CliOption, type Command, parse, printJson, UsageError } from '../args.js';

export function backendOption(value: string | undefined): BackendName {
  const name = (value ?? 'auto') as BackendName;
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')} but got '${value}'`);
  }
  return name;
}

/** `--compute`, shared by `train` and `backend`. */
export const COMPUTE_OPTION = {
  type: 'string',
  value: 'auto|wasm|tfjs',
  defaultText: 'auto',
  description: 'where training steps run: the Rust/WASM kernels or tfjs ops (auto: tfjs on a GPU backend)',
} as const satisfies CliOption;

export function computeOption(cmd: string, value: string | undefined): Compute {
  const c = (value ?? 'auto') as Compute;
  if (!(COMPUTES as readonly string[]).includes(c)) {
    throw new UsageError(`macridvae ${cmd}: --compute must be one of ${COMPUTES.join(', ')} but got '${value}'`);
  }
  return c;
}

export const BACKEND_OPTIONS = {
  backend: BACKEND_OPTION,
  threads: { type: 'string', value: 'N', defaultText: "the backend's own", description: 'threads of the wasm backend' },
  compute: COMPUTE_OPTION,
} as const;

export const backend: Command = {
  name: 'backend',
  summary: 'report the TensorFlow.js backend, device, thread count and compute path that training would use',
  options: BACKEND_OPTIONS,
  async run(argv) {
    const { values } = parse('backend', argv, BACKEND_OPTIONS);
    const threads = values.threads === undefined ? undefined : Number(values.threads);
    const requested = computeOption('backend', values.compute);
    const info = await selectBackend(backendOption(values.backend), { threads });
    const device = backendOnGpu() ? 'gpu' : 'cpu';
    const compute = computeInfo(requested);
    if (values.json) printJson({ ...info, device, compute });
    else {
      for (const s of info.skipped) console.log(`skipped ${s.name}: ${s.reason}`);
      console.log(`backend: ${info.name} (tfjs '${info.tfBackend}'), threads: ${info.threads ?? 'native default'}`);
      console.log(`device: ${device}`);
      console.log(`compute: ${compute.path} (${compute.requested === 'auto' ? compute.reason : 'requested'})`);
    }
    return 0;
  },
};
