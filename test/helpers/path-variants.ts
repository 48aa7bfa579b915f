/**
 * @module path-variants (test helper)
 * Spellings of one route path that a path guard must not let through as another: a doubled or leading slash,
 * dot segments (plain and percent-encoded, double-encoded), encoded slashes and backslashes, case changes, a
 * trailing slash, a NUL, and an escaped last segment. Shared by test/http/security.test.ts (Node, exact
 * statuses) and test/workerd/security.test.ts (the Worker, where workerd folds some before the app).
 */
export const pathVariants = (path: string): string[] => {
  const segs = path.split('/');
  const last = segs.length - 1;
  return [
    `/${path}`,
    path.replace('/api/', '/api//'),
    path.replace('/api/2.0/', '/api/2.0/./'),
    path.replace('/api/2.0/', '/api/x/../2.0/'),
    path.replace('/api/2.0/', '/api%2F2.0/'),
    path.replace('/api/2.0/', '/api%2f2.0/'),
    path.replace('/api/2.0/', '/api/%2e/2.0/'),
    path.replace('/api/2.0/', '/api/2.0%5C'),
    path.replace('/api/2.0/', '/api/2.0\\'),
    path.replace('/api/2.0/', '/api/%252e%252e/2.0/'),
    path.toUpperCase(),
    path.replace('/api/', '/API/'),
    `${path}/`,
    `${path}%00`,
    segs.map((s, i) => (i === last ? encodeURIComponent(s).replace(/-/g, '%2D') : s)).join('/'),
  ].filter((v) => v !== path);
};
