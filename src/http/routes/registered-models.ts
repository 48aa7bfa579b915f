/** @module registered-models (being written) */
import type { Route } from '../env.ts';

export const routes: Route[] = [];
