/**
 * Workloads the end-to-end suites and benchmarks run on Sprout clusters, built from the node
 * image's offline toolbox image (busybox: sh, httpd, wget, dd).
 */
export const TOOLBOX_IMAGE = "sprout.dev/toolbox:1";

/** A pod that runs `script` once on `node`, with a PersistentVolumeClaim mounted at /data. */
export function claimPod(o: { name: string; node: string; claim: string; script: string; readOnly?: boolean }): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: o.name },
    spec: {
      nodeName: o.node,
      restartPolicy: "Never",
      containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", o.script], volumeMounts: [{ name: "data", mountPath: "/data" }] }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: o.claim, readOnly: o.readOnly ?? false } }],
    },
  };
}

/**
 * The Deployment `burner` (label app=burner) for autoscaling: `command` is its shell script, a
 * busy loop to load it or `sleep` to let it rest. It asks for 50m of CPU and may use 200m. No
 * replicas: the HPA owns them, and applying the template again must not reset them.
 */
export function cpuBurner(command: string): object {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "burner", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "burner" } },
      template: {
        metadata: { labels: { app: "burner" } },
        spec: { containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", command], resources: { requests: { cpu: "50m" }, limits: { cpu: "200m" } } }] },
      },
    },
  };
}
