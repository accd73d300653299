/**
 * Slows down API-token guessing, per client address (an IPv6 address by its /64, which one
 * machine usually holds whole). The first FREE_FAILURES wrong tokens are answered at once; each
 * further one locks the address out for twice as long as the last (1 s, 2 s, … up to
 * MAX_LOCKOUT_MS). While locked out, no token from that address is checked, the right one
 * included: answering a right token would let parallel guesses through. A right token does not
 * clear the count (a legitimate client on the same address would reset a guesser's), time does:
 * an address forgotten FORGET_AFTER_MS after its last wrong token. At most MAX_ADDRESSES are
 * remembered; past that the longest-quiet one is dropped.
 */
export const FREE_FAILURES = 10;
export const MAX_LOCKOUT_MS = 60_000;
export const FORGET_AFTER_MS = 15 * 60_000;
export const MAX_ADDRESSES = 10_000;

interface Failures {
  count: number;
  lastAt: number;
  lockedUntil: number;
}

export class TokenThrottle {
  private readonly byAddress = new Map<string, Failures>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds before `address` may present a token again (0: now). */
  waitMs(address: string): number {
    const entry = this.current(keyOf(address));
    return entry ? Math.max(0, entry.lockedUntil - this.now()) : 0;
  }

  /** `address` presented a wrong token. */
  failed(address: string): void {
    const key = keyOf(address);
    const now = this.now();
    const entry = this.current(key) ?? { count: 0, lastAt: now, lockedUntil: 0 };
    entry.count += 1;
    entry.lastAt = now;
    const over = entry.count - FREE_FAILURES;
    if (over > 0) entry.lockedUntil = now + Math.min(MAX_LOCKOUT_MS, 1000 * 2 ** Math.min(over - 1, 30));
    // Re-inserted, so the Map's order is quietest first.
    this.byAddress.delete(key);
    this.byAddress.set(key, entry);
    if (this.byAddress.size > MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value!);
  }

  /** How many addresses are remembered (for tests of the memory bound). */
  get size(): number {
    return this.byAddress.size;
  }

  private current(key: string): Failures | undefined {
    const entry = this.byAddress.get(key);
    if (entry && this.now() - Math.max(entry.lastAt, entry.lockedUntil) > FORGET_AFTER_MS) {
      this.byAddress.delete(key);
      return undefined;
    }
    return entry;
  }
}

/** An IPv4 address (also IPv4-mapped IPv6) as itself; an IPv6 address by its first 64 bits. */
export function keyOf(address: string): string {
  const a = address.toLowerCase().replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(":")) return a;
  const [head = "", tail = ""] = a.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = a.includes("::") ? (tail ? tail.split(":") : []) : [];
  const missing = Math.max(0, 8 - headGroups.length - tailGroups.length);
  const groups = a.includes("::") ? [...headGroups, ...Array(missing).fill("0"), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
