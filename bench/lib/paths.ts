/**
 * @module paths
 * Where things are: the repo root (the parent of bench/), the project's Node 24 (node_modules/.bin/node, the
 * binary `npm start` runs), and bench/.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(BENCH, '..');
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');
