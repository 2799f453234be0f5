/**
 * The part of the Workers runtime's own module and bindings this adapter uses (Cloudflare's type
 * package would declare every Workers global for the whole package).
 */
declare module 'cloudflare:workers' {
  /** A Durable Object class: its public methods are callable on a stub from any isolate (JS RPC). */
  export abstract class DurableObject<Env = unknown> {
    constructor(ctx: unknown, env: Env);
    protected readonly ctx: unknown;
    protected readonly env: Env;
  }
}
