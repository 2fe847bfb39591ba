/** `macridvae backend`: which TensorFlow.js backend would be used here, and with how many threads. */
import { BACKENDS, type BackendName, selectBackend } from '../../tf/backend.js';
import { BACKEND_OPTION, type Command, parse, printJson, UsageError } from '../args.js';

export function backendOption(value: string | undefined): BackendName {
  const name = (value ?? 'auto') as BackendName;
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')} but got '${value}'`);
  }
  return name;
}

export const BACKEND_OPTIONS = {
  backend: BACKEND_OPTION,
  threads: { type: 'string', value: 'N', defaultText: "the backend's own", description: 'threads of the wasm backend' },
} as const;

export const backend: Command = {
  name: 'backend',
  summary: 'report the TensorFlow.js backend and thread count that training would use',
  options: BACKEND_OPTIONS,
  async run(argv) {
    const { values } = parse('backend', argv, BACKEND_OPTIONS);
    const threads = values.threads === undefined ? undefined : Number(values.threads);
    const info = await selectBackend(backendOption(values.backend), { threads });
    if (values.json) printJson(info);
    else {
      for (const s of info.skipped) console.log(`skipped ${s.name}: ${s.reason}`);
      console.log(`backend: ${info.name} (tfjs '${info.tfBackend}'), threads: ${info.threads ?? 'native default'}`);
    }
    return 0;
  },
};
