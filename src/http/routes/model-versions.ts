/** @module model-versions (being written) */
import type { Route } from '../env.ts';

export const routes: Route[] = [];
