import { hostname } from "node:os";
import { PrefectliteError } from "../core/errors.ts";

/**
 * The host names the server answers to (its defence against DNS rebinding: a page on
 * evil.example whose name is re-pointed at 127.0.0.1 still sends `Host: evil.example`).
 * Also what the UI's forms check `Origin`/`Referer` against.
 *
 * Defaults, each at the bound port only (another port of the same name is another origin, and
 * for cookies the same site): `127.0.0.1`, `localhost`, `[::1]` and the `--host` given. A wildcard
 * bind (0.0.0.0, ::) also answers to this machine's host name and to any IP address literal: a
 * browser sends an address as `Host` only when it really connected to that address, so a literal
 * cannot be rebound. PREFECTLITE_ALLOWED_HOSTS adds names; an entry without a port allows every
 * port of that name.
 */
export interface HostAllowList {
  /** True when `host` (a `Host` header, or an origin's host) is one the server answers to. */
  allows(host: string | undefined | null): boolean;
}

export class AllowedHosts implements HostAllowList {
  private constructor(
    /** "name:port", and "name" for entries that allow every port. */
    private readonly exact: ReadonlySet<string>,
    private readonly anyPort: ReadonlySet<string>,
    /** With a wildcard bind: IP literals at this port. */
    private readonly ipLiteralPort: string | undefined,
    /** The port a `Host` without one means. */
    private readonly defaultPort: string,
  ) {}

  /** What a server bound to `bindHost:port` answers to, plus `extra` entries (`name` or `name:port`). */
  static forServer(bindHost: string, port: number, extra: readonly string[] = []): AllowedHosts {
    const bound = String(port);
    const exact = new Set(["127.0.0.1", "localhost", "[::1]"].map((name) => `${name}:${bound}`));
    const anyPort = new Set<string>();
    const bind = normalizeName(bindHost);
    const wildcard = bind === "0.0.0.0" || bind === "[::]";
    if (!wildcard) exact.add(`${bind}:${bound}`);
    else exact.add(`${normalizeName(hostname())}:${bound}`);
    for (const entry of extra) {
      const parsed = parseHost(entry);
      if (!parsed) {
        throw new PrefectliteError(
          "Usage",
          `PREFECTLITE_ALLOWED_HOSTS: '${entry}' is not a host name: write names like 'myhost', 'myhost:4200' or '[::1]:4200', comma-separated`,
        );
      }
      if (parsed.port) exact.add(`${parsed.name}:${parsed.port}`);
      else anyPort.add(parsed.name);
    }
    return new AllowedHosts(exact, anyPort, wildcard ? bound : undefined, "80");
  }

  /** The loopback names without a port: what `app.request("/path")` sends in tests. */
  static loopbackDefaultPort(): AllowedHosts {
    return AllowedHosts.forServer("127.0.0.1", 80);
  }

  allows(host: string | undefined | null): boolean {
    const parsed = host ? parseHost(host) : undefined;
    if (!parsed) return false;
    const port = parsed.port ?? this.defaultPort;
    if (this.anyPort.has(parsed.name) || this.exact.has(`${parsed.name}:${port}`)) return true;
    return this.ipLiteralPort === port && isIpLiteral(parsed.name);
  }
}

/** Lower case, without a DNS root dot; IPv6 in brackets. */
function normalizeName(name: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, "");
  return n.includes(":") && !n.startsWith("[") ? `[${n}]` : n;
}

const NAME = /^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/;

/** `name`, `name:port`, `[v6]`, `[v6]:port` or a bare IPv6 address; undefined when it is none of them. */
export function parseHost(text: string): { name: string; port: string | undefined } | undefined {
  const t = text.trim().toLowerCase();
  let name: string;
  let port: string | undefined;
  const bracketed = /^(\[[^\]]*\])(?::(\d{1,5}))?$/.exec(t);
  if (bracketed) [, name, port] = bracketed as unknown as [string, string, string | undefined];
  else if ((t.match(/:/g) ?? []).length > 1) name = `[${t}]`;
  else {
    const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(t);
    if (!m) return undefined;
    [, name, port] = m as unknown as [string, string, string | undefined];
    name = name.replace(/\.$/, "");
  }
  if (port !== undefined && Number(port) > 65535) return undefined;
  const valid = name.startsWith("[") ? IPV6.test(name) : NAME.test(name);
  return valid ? { name, port: port === undefined ? undefined : String(Number(port)) } : undefined;
}

function isIpLiteral(name: string): boolean {
  if (name.startsWith("[")) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return v4 !== null && v4.slice(1).every((octet) => Number(octet) <= 255);
}
