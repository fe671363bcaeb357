import type { Host } from "./host.js";

/**
 * Writes a configuration file a server will load, if its content changed, and has the server's
 * own checker (`nginx -t`, `unbound-checkconf`) accept it; a refused file is replaced by the
 * previous one (or removed, if there was none) so the server keeps what it serves. Returns
 * whether the file changed.
 */
export async function writeCheckedFile(host: Host, o: { path: string; text: string; mode: number; check: string[]; env?: Record<string, string>; what: string }): Promise<boolean> {
  const previous = (await host.readFile(o.path))?.toString("utf8");
  if (previous === o.text) return false;
  await host.writeFile(o.path, o.text, o.mode);
  const check = await host.exec(o.check, o.env ? { env: o.env } : undefined);
  if (check.code !== 0) {
    if (previous === undefined) await host.remove(o.path);
    else await host.writeFile(o.path, previous, o.mode);
    throw new Error(`${o.check[0]} refused ${o.what} (kept the previous ones): ${(check.stderr || check.stdout).trim().slice(0, 500)}`);
  }
  return true;
}
