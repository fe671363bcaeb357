import { UserError } from "../../shared/errors.js";

/**
 * "host:port" → its parts. `what` names where the text came from (`--listen`, or the spec
 * field), because a bad value is the user's to fix: a UserError, exit code 2.
 */
export function parseListen(listen: string, what = "coordinator.listen"): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = i < 0 ? "" : listen.slice(0, i);
  const portText = i < 0 ? "" : listen.slice(i + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (host === "" || !(port >= 0 && port <= 65535)) {
    throw new UserError(`${what} must be host:port with a port from 0 to 65535, got "${listen}"`);
  }
  return { host, port };
}
