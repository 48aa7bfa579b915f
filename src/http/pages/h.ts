/**
 * @module h
 * Hono JSX without JSX syntax. `npm start` runs the TypeScript sources with Node's type stripping, which does
 * not accept `.tsx`, and the Worker is bundled from the same sources; so pages build Hono JSX nodes with
 * `jsx()` calls (what the JSX transform would emit), in plain `.ts`. Hono escapes every string child and
 * attribute value, so page code never builds HTML by concatenation.
 */
import { jsx, type Child } from 'hono/jsx';

export type { Child };
export type Props = Record<string, unknown> | null;

/** @example h('a', { href: '/ui/models' }, 'Models') */
export function h(tag: string, props: Props = null, ...children: Child[]): ReturnType<typeof jsx> {
  return jsx(tag, props, ...children);
}
