import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { NodeBundle } from "./node-bundle.js";
import { asRoot, installScript, neededFiles, packageProblem, parseProbe, probeScript } from "./host-install.js";

const bundle: NodeBundle = {
  dir: "/var/cache/sprout/bundle/x",
  packages: ["containerd", "runc", "glusterfs-server"],
  images: ["pause.tar", "toolbox.tar"],
  kubernetesVersion: "1.20.2",
  imageVersion: "bookworm-abc",
  sizes: { agent: 2e6, node: 1e8, kubernetes: 3e8, images: 3e6, debian: 1.5e8 },
};

describe("ssh provider: what a host needs", () => {
  it("reads the probe's answers, the host's clock included", () => {
    const p = parseProbe("os=debian 12\nnow=1790000000123\nnode=20.19.0\nkubelet=1.20.2\nbin=kubelet\nbin=kube-proxy\nimage=pause.tar\nmissing=runc\nnoise\n");
    expect(p).toEqual({ os: "debian 12", now: 1790000000123, nodeVersion: "20.19.0", kubeletVersion: "1.20.2", binaries: ["kubelet", "kube-proxy"], images: ["pause.tar"], missingPackages: ["runc"] });
    expect(() => execFileSync("sh", ["-n", "-c", probeScript(bundle)])).not.toThrow();
  });

  it("sends only what is missing: the agent always, the runtime below Node 20.18, every binary when the kubelet's version differs", () => {
    const plain = parseProbe("os=debian 12\nmissing=containerd\nmissing=runc");
    expect([...neededFiles(plain, bundle, ["master"], "1.20.2").keys()]).toEqual(["agent", "node", "kubernetes", "images", "debian"]);
    expect(neededFiles(plain, bundle, ["master"], "1.20.2").get("kubernetes")).toEqual(["kubernetes/kubelet", "kubernetes/kube-proxy", "kubernetes/kube-apiserver", "kubernetes/kube-controller-manager", "kubernetes/kube-scheduler"]);
    expect(neededFiles(plain, bundle, ["service"], "1.20.2").get("kubernetes")).toEqual(["kubernetes/kubelet", "kubernetes/kube-proxy"]);
    const ready = parseProbe("os=debian 12\nnode=20.18.0\nkubelet=1.20.2\nbin=kubelet\nbin=kube-proxy\nimage=pause.tar\nimage=toolbox.tar");
    expect([...neededFiles(ready, bundle, ["service"], "1.20.2").keys()]).toEqual(["agent"]);
    expect(neededFiles(ready, bundle, ["master"], "1.20.2").get("kubernetes")).toEqual(["kubernetes/kube-apiserver", "kubernetes/kube-controller-manager", "kubernetes/kube-scheduler"]);
    const old = parseProbe("os=debian 12\nnode=18.20.4\nkubelet=1.19.0\nbin=kubelet\nbin=kube-proxy");
    expect(neededFiles(old, bundle, ["service"], "1.20.2").get("kubernetes")).toEqual(["kubernetes/kubelet", "kubernetes/kube-proxy"]);
    expect(neededFiles(old, bundle, ["service"], "1.20.2").has("node")).toBe(true);
  });

  it("installs bundled packages only on Debian 12, and says what to do elsewhere", () => {
    expect(packageProblem(parseProbe("os=debian 12\nmissing=runc"))).toBeUndefined();
    expect(packageProblem(parseProbe("os=ubuntu 24.04"))).toBeUndefined();
    expect(packageProblem(parseProbe("os=ubuntu 24.04\nmissing=runc\nmissing=containerd"))).toMatch(/^ubuntu 24.04 lacks runc, containerd; the bundled packages are Debian 12's: install these/);
  });

  it("keeps the token off command lines: the bootstrap file travels inside the script, written 0600", () => {
    const script = installScript({ parts: ["agent", "debian"], missingPackages: ["runc"], bootstrap: "token: abcdef.0123456789abcdef\n", imageVersion: "x" });
    expect(() => execFileSync("sh", ["-n", "-c", script])).not.toThrow();
    const lines = script.split("\n");
    const at = lines.indexOf("token: abcdef.0123456789abcdef");
    expect(lines[at - 1]).toBe("cat >/etc/sprout/bootstrap.yaml.new <<'SPROUT_BOOTSTRAP'");
    expect(lines.slice(0, at).lastIndexOf("umask 077")).toBeGreaterThan(-1);
    expect(script).toContain("policy-rc.d");
    expect(script).toContain("apt-get $APT install -y -q --no-install-recommends runc");
    expect(asRoot("root", "sh -s")).toBe("sh -s");
    expect(asRoot("debian", "sh -s")).toBe("sudo -n sh -s");
  });
});
