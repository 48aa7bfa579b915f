/**
 * @module miniflare-d1 (test helper)
 * Real, empty D1 databases from miniflare (workerd's own D1 implementation, in memory), usable from Node tests
 * through miniflare's proxy. Starting workerd takes a while, so one instance serves DATABASES_PER_INSTANCE
 * fresh databases before another is started; `disposeAll` stops every instance (call it in afterAll).
 */
import { Miniflare } from 'miniflare';
import { D1Db, type D1Database } from '../../src/adapters/d1/d1-db.ts';

const DATABASES_PER_INSTANCE = 16;
const NAMES = Array.from({ length: DATABASES_PER_INSTANCE }, (_, i) => `DB${i}`);

export interface MiniflareD1Pool {
  /** A fresh, empty D1 database (the raw binding proxy). */
  d1(): Promise<D1Database>;
  /** A fresh, empty D1 database behind the SqlDb adapter. */
  make(): Promise<D1Db>;
  disposeAll(): Promise<void>;
}

export function miniflareD1Pool(): MiniflareD1Pool {
  const instances: Miniflare[] = [];
  let current: Miniflare | undefined;
  let used = DATABASES_PER_INSTANCE;

  async function d1(): Promise<D1Database> {
    if (!current || used >= DATABASES_PER_INSTANCE) {
      // Miniflare 5's config: one worker, its modules inline, one D1 binding per name.
      current = new Miniflare({
        workers: [
          {
            config: {
              name: 'd1-host',
              compatibilityDate: '2026-11-01',
              manifest: {
                mainModule: 'index.js',
                modules: { 'index.js': { type: 'esm', contents: 'export default { fetch() { return new Response("unused") } }' } },
              },
              env: Object.fromEntries(NAMES.map((n) => [n, { type: 'd1' as const, id: n }])),
            },
          },
        ],
      });
      instances.push(current);
      used = 0;
    }
    const name = NAMES[used++]!;
    return (await current.getD1Database(name)) as unknown as D1Database;
  }

  return {
    d1,
    make: async () => new D1Db(await d1()),
    async disposeAll() {
      const all = instances.splice(0);
      current = undefined;
      await Promise.all(all.map((m) => m.dispose()));
    },
  };
}
