/**
 * @module r2-minimal-worker
 * The peer of the Worker-vs-R2 figure (bench/figures/worker-r2.ts): the least a Worker can do to serve an R2
 * object. `GET /<key>` answers the object's body as R2 gives it (a known-length stream, so workerd sends an exact
 * Content-Length), with no authentication, no database and no checks; 404 when there is no such object.
 * Plain JavaScript, so wrangler bundles nothing of regate's into it.
 */
export default {
  async fetch(request, env) {
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    const object = await env.ARTIFACTS.get(key);
    if (object === null) return new Response('no such object\n', { status: 404 });
    return new Response(object.body, { headers: { 'Content-Type': 'application/octet-stream', ETag: object.httpEtag } });
  },
};
