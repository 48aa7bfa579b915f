/**
 * @module signing-keys
 * Key rotation for download URIs, for workspace admins:
 * `GET /api/2.0/regate/signing-keys` lists the verification set (current first);
 * `POST /api/2.0/regate/signing-keys/rotate` makes a new signing key, keeping the old one for verification so
 * URIs already issued keep working until they expire;
 * `DELETE /api/2.0/regate/signing-keys/{kid}` drops a non-current key at once: every URI it signed stops
 * working (emergency revocation; MLflow recovers by asking for a new URI).
 */
import { invalid, notFound } from '../../core/errors.ts';
import type { RotatingKeyRing } from '../../core/artifacts/key-ring.ts';
import type { Ctx, Route } from '../env.ts';

function rotating(c: Ctx): RotatingKeyRing {
  return c.var.deps.keyRing;
}

const list = (ring: RotatingKeyRing) => ({ keys: ring.kids().map((kid, i) => ({ kid, current: i === 0 })) });

export const routes: Route[] = [
  {
    method: 'GET',
    path: '/api/2.0/regate/signing-keys',
    auth: 'admin',
    handler: (c) => c.json(list(rotating(c))),
  },
  {
    method: 'POST',
    path: '/api/2.0/regate/signing-keys/rotate',
    auth: 'admin',
    handler: async (c) => {
      const ring = rotating(c);
      const kid = await ring.rotate();
      c.var.deps.logger.info('signing_key_rotated', { requestId: c.var.requestId, kid, by: c.var.principal.id });
      return c.json({ kid, ...list(ring) });
    },
  },
  {
    method: 'DELETE',
    path: '/api/2.0/regate/signing-keys/:kid',
    auth: 'admin',
    handler: async (c) => {
      const ring = rotating(c);
      const kid = c.req.param('kid') ?? '';
      if (!ring.kids().includes(kid)) throw notFound(`No signing key ${kid.slice(0, 64)}.`);
      if (ring.kids()[0] === kid) throw invalid('The current signing key cannot be removed; rotate first.');
      await ring.remove(kid);
      c.var.deps.logger.info('signing_key_removed', { requestId: c.var.requestId, kid, by: c.var.principal.id });
      return c.json(list(ring));
    },
  },
];
