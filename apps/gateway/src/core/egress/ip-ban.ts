/**
 * Whether this instance may call DingTalk, given DingTalk's ban of its egress IP.
 *
 * - `open`: calls go.
 * - `banned`, until a time: no call goes (every one would be refused too, and might lengthen
 *   the ban); callers are told when to come back.
 * - When the ban should be over, exactly one call goes (the probe) while the others are still
 *   held back: its answer either lifts the ban or starts a new one. A probe that fails some
 *   other way (DingTalk unreachable) lifts it: that answer was not a ban.
 *
 * Per instance: a ban is of an IP, and instances behind other egress IPs are not banned.
 *
 * ```ts
 * const ban = new IpBan({ now: Date.now });
 * const entry = ban.enter();
 * if (!entry.allowed) return refuse(entry.retryAfterMs);
 * const answer = await send();
 * if (banOf(answer)) ban.banned(waitMs); else ban.answered();
 * ```
 */
export type BanEntry = { readonly allowed: true; readonly probe: boolean } | { readonly allowed: false; readonly retryAfterMs: number };

/** What becomes of a call after its answer, for the log and metrics. */
export type BanChange = 'banned' | 'lifted' | 'none';

export class IpBan {
  readonly #now: () => number;
  #until: number | undefined;
  #probing = false;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** When the ban ends (epoch ms), or undefined when there is none. */
  get until(): number | undefined {
    return this.#until;
  }

  /** How long until a call may go (0 when one may now), without taking the probe. */
  waitMs(): number {
    if (this.#until === undefined) return 0;
    const left = this.#until - this.#now();
    if (left > 0) return left;
    return this.#probing ? PROBE_RETRY_MS : 0;
  }

  /** A call asks to go. After the ban's end, the first is the probe; the rest wait for its answer. */
  enter(): BanEntry {
    if (this.#until === undefined) return OPEN;
    const left = this.#until - this.#now();
    if (left > 0) return { allowed: false, retryAfterMs: left };
    if (this.#probing) return { allowed: false, retryAfterMs: PROBE_RETRY_MS };
    this.#probing = true;
    return PROBE;
  }

  /**
   * DingTalk's front answered with a ban of `ms`. `banned` when this starts a ban (from open, or
   * the probe's answer); the other calls that were in flight when it began change nothing more
   * than its end.
   */
  banned(ms: number): BanChange {
    const starts = this.#until === undefined || this.#probing;
    this.#until = Math.max(this.#until ?? 0, this.#now() + ms);
    this.#probing = false;
    return starts ? 'banned' : 'none';
  }

  /** A call that went got an answer that is not a ban (or failed another way). */
  answered(entry: BanEntry): BanChange {
    if (!entry.allowed || !entry.probe || this.#until === undefined) return 'none';
    this.#until = undefined;
    this.#probing = false;
    return 'lifted';
  }
}

/** While the probe is out, callers are asked back in a second. */
const PROBE_RETRY_MS = 1_000;
const OPEN: BanEntry = { allowed: true, probe: false };
const PROBE: BanEntry = { allowed: true, probe: true };
