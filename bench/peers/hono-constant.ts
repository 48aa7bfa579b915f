/**
 * @module hono-constant
 * The peer of figure 1: a Hono app on @hono/node-server (the very packages regate resolves, on the same Node)
 * that answers GET on the paths of a JSON file with that path's constant JSON object, and 404 otherwise. No
 * authentication, no database, no logging: what the framework costs on this machine for the same response.
 *
 *   node bench/peers/hono-constant.ts <bodies.json>     # {"<path>": <object>, ...}; PORT (0 = free), HOST
 */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/peers/hono-constant.ts <bodies.json>');
const bodies = new Map<string, unknown>(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>));

const app = new Hono();
app.get('*', (c) => {
  const body = bodies.get(c.req.path);
  return body === undefined ? c.notFound() : c.json(body as object);
});

const host = process.env.HOST ?? '127.0.0.1';
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: host }, (info) => {
  process.stdout.write(`hono-constant listening on http://${host}:${info.port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
