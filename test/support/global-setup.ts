import { execFileSync } from "node:child_process";

/**
 * Integration runs create network namespaces named `sprout-it<id>-*` and an uplink `sp-*` per
 * test cluster. A run killed from outside (timeout, Ctrl-C) cannot clean up after itself, so
 * sweep what such runs left before starting, and again at the end.
 */
function sweep(): void {
  const list = (cmd: string[]) => {
    try {
      return execFileSync("ip", cmd, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      return "";
    }
  };
  const namespaces = list(["netns", "list"]).split("\n").map((l) => l.split(" ")[0]!).filter((n) => n.startsWith("sprout-it"));
  for (const ns of namespaces) list(["netns", "del", ns]);
  const uplinks = list(["-o", "link"]).split("\n").map((l) => l.split(": ")[1]?.split("@")[0] ?? "").filter((n) => n.startsWith("sp-"));
  for (const link of uplinks) list(["link", "del", link]);
}

export function setup(): () => void {
  sweep();
  return sweep;
}
