/** The registry of CLI commands, in the order `--help` lists them. */
import type { Command } from '../args.js';
import { backend } from './backend.js';
import { data } from './data.js';
import { demo } from './demo.js';

export const COMMANDS: Command[] = [demo, backend, data];
