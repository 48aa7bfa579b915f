/**
 * @module cloudflare-test (types)
 * The few members of @cloudflare/vitest-plugin's `cloudflare:test` module the workerd tests use, declared here
 * for the Node typecheck (the plugin's own declarations need @cloudflare/workers-types' globals, which clash
 * with Node's and the DOM's). Inside workerd the plugin supplies the module.
 */
declare module 'cloudflare:test' {
  export const env: Record<string, unknown>;
  export const SELF: { fetch(input: string | Request, init?: RequestInit): Promise<Response> };
  export interface ExecutionContext {
    waitUntil(promise: Promise<unknown>): void;
    passThroughOnException(): void;
  }
  export function createExecutionContext(): ExecutionContext;
  export function waitOnExecutionContext(ctx: ExecutionContext): Promise<void>;
}
