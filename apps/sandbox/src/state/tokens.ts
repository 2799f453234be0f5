/**
 * Access tokens as DingTalk hands them out:
 * - an internal app has one current token; asking again while it is valid returns the same
 *   token with its validity extended, after expiry a new one is issued;
 * - a third-party suite gets a new token per call and per authorizing org. Whether the older
 *   ones stay valid is undocumented: here they do, until their own expiry.
 *
 * ```ts
 * const tokens = new TokenStore(Date.now);
 * const { token } = tokens.issueForApp(app, 7200);
 * tokens.lookup(token); // → { principal, expiresAt } until it expires or is revoked
 * ```
 */
import { newAccessToken } from './ids.js';

/** Who a token acts for: the app (or suite) and the org it acts in, with its permissions. */
export interface Principal {
  kind: 'app' | 'suite';
  /** The appKey of an internal app, the suiteKey of a third-party suite. */
  appKey: string;
  corpId: string;
  permissions: ReadonlySet<string>;
}

export interface IssuedToken {
  token: string;
  principal: Principal;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export class TokenStore {
  readonly #tokens = new Map<string, IssuedToken>();
  /** The current token of each internal app, by appKey. */
  readonly #current = new Map<string, IssuedToken>();

  constructor(private readonly now: () => number) {}

  /** Returns the app's valid token extended by `lifetimeSeconds`, or a new one; `fresh` tells which. */
  issueForApp(principal: Principal, lifetimeSeconds: number): IssuedToken & { fresh: boolean } {
    const now = this.now();
    const expiresAt = now + lifetimeSeconds * 1000;
    const current = this.#current.get(principal.appKey);
    if (current && current.expiresAt > now && this.#tokens.get(current.token) === current) {
      current.expiresAt = expiresAt;
      current.principal = principal;
      return { ...current, fresh: false };
    }
    const issued: IssuedToken = { token: newAccessToken(), principal, expiresAt };
    this.#tokens.set(issued.token, issued);
    this.#current.set(principal.appKey, issued);
    return { ...issued, fresh: true };
  }

  /** Always a new token (third-party suites). */
  issueForSuite(principal: Principal, lifetimeSeconds: number): IssuedToken {
    this.#sweep();
    const issued: IssuedToken = { token: newAccessToken(), principal, expiresAt: this.now() + lifetimeSeconds * 1000 };
    this.#tokens.set(issued.token, issued);
    return issued;
  }

  /** The token's grant if it is known and not expired; expired tokens are forgotten on the way. */
  lookup(token: string): IssuedToken | undefined {
    const issued = this.#tokens.get(token);
    if (!issued) return undefined;
    if (issued.expiresAt <= this.now()) {
      this.#tokens.delete(token);
      return undefined;
    }
    return issued;
  }

  /** Invalidates every token of an app or suite; returns how many were still valid. */
  revokeApp(appKey: string): number {
    const now = this.now();
    let revoked = 0;
    for (const [token, issued] of this.#tokens) {
      if (issued.principal.appKey !== appKey) continue;
      if (issued.expiresAt > now) revoked++;
      this.#tokens.delete(token);
    }
    this.#current.delete(appKey);
    return revoked;
  }

  /** Valid tokens per app, for introspection. */
  activeByApp(): Record<string, number> {
    const now = this.now();
    const counts: Record<string, number> = {};
    for (const issued of this.#tokens.values()) {
      if (issued.expiresAt > now) counts[issued.principal.appKey] = (counts[issued.principal.appKey] ?? 0) + 1;
    }
    return counts;
  }

  /** Suites pile up tokens (one per call), so forget expired ones once there are many. */
  #sweep(): void {
    if (this.#tokens.size < 1000) return;
    const now = this.now();
    for (const [token, issued] of this.#tokens) if (issued.expiresAt <= now) this.#tokens.delete(token);
  }

  clear(): void {
    this.#tokens.clear();
    this.#current.clear();
  }
}
