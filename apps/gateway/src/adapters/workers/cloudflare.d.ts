/**
 * The part of the Workers runtime's own module and bindings this adapter uses (Cloudflare's type
 * package would declare every Workers global for the whole package).
 */
declare module 'cloudflare:workers' {
  /** The object's own durable storage, and the gate that holds its events while it loads. */
  export interface DurableObjectState {
    readonly storage: {
      get<T>(key: string): Promise<T | undefined>;
      /** Durable before any answer the object gives after it (the output gate). */
      put(key: string, value: unknown): Promise<void>;
    };
    blockConcurrencyWhile<T>(load: () => Promise<T>): Promise<T>;
  }

  /** A Durable Object class: its public methods are callable on a stub from any isolate (JS RPC). */
  export abstract class DurableObject<Env = unknown> {
    constructor(ctx: DurableObjectState, env: Env);
    protected readonly ctx: DurableObjectState;
    protected readonly env: Env;
  }
}
