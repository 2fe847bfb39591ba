/** The registry of CLI commands, in the order `--help` lists them. */
import type { Command } from '../args.js';
import { openData, openModel } from '../model-view.js';
import { analyzeCommand } from './analyze.js';
import { backend } from './backend.js';
import { data } from './data.js';
import { demo } from './demo.js';
import { evalCommand } from './eval.js';
import { recommendCommand } from './recommend.js';
import { reproduceCommand } from './reproduce.js';
import { serveCommand } from './serve.js';
import { train } from './train.js';
import { traverseCommand } from './traverse.js';
import { tuneCommand } from './tune.js';
import { workerCommand } from './worker.js';

export const COMMANDS: Command[] = [
  demo,
  backend,
  data,
  train,
  tuneCommand,
  evalCommand,
  recommendCommand,
  reproduceCommand,
  serveCommand,
  traverseCommand(openModel, openData),
  analyzeCommand(openModel, openData),
  workerCommand,
];
