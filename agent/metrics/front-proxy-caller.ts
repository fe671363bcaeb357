import type { IncomingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Caller } from "./metrics-api.js";

/** The CN of the API server's proxy client certificate (`--requestheader-allowed-names`). */
export const FRONT_PROXY_NAMES = ["front-proxy-client"];

/**
 * The user a request acts for, as the API server's front proxy forwards it: trusted only when
 * the connection's client certificate was issued by the front-proxy CA (the TLS layer checks
 * that) *and* carries an allowed name, exactly as the API server treats request headers.
 */
export function frontProxyCaller(socket: TLSSocket | undefined, headers: Record<string, string[] | undefined>): Caller | undefined {
  if (!socket || typeof socket.getPeerCertificate !== "function" || !socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  if (typeof cn !== "string" || !FRONT_PROXY_NAMES.includes(cn)) return undefined;
  return callerFromHeaders(headers);
}

/** X-Remote-User, every X-Remote-Group, and X-Remote-Extra-<key> (the key URL-encoded). */
export function callerFromHeaders(headers: Record<string, string[] | undefined>): Caller | undefined {
  const user = headers["x-remote-user"]?.[0];
  if (!user) return undefined;
  const extra: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(headers)) {
    if (!name.startsWith("x-remote-extra-") || !values) continue;
    const key = safeDecode(name.slice("x-remote-extra-".length)).toLowerCase();
    if (key) extra[key] = [...(extra[key] ?? []), ...values];
  }
  return { user, groups: headers["x-remote-group"] ?? [], extra };
}

/** Node's per-header value lists (`headersDistinct`), from a request's headers. */
export function distinctHeaders(h: IncomingHttpHeaders): Record<string, string[] | undefined> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v === undefined ? undefined : Array.isArray(v) ? v : [v]]));
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return "";
  }
}
