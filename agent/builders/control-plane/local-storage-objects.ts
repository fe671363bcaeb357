import { PROVISIONER } from "../../local-storage/local-provisioning.js";
import { LOCAL_STORAGE_CLASS } from "../local-storage.js";
import { groupRole, MANAGED_BY_SPROUT } from "./rbac-objects.js";

/**
 * Node-local volumes, k3s's local-path as Sprout's default StorageClass: a claim without a
 * class gets a directory on the node its pod was scheduled to (WaitForFirstConsumer), made by
 * that node's provisioner (group sprout:local-storage), and deleted with the claim.
 */
export function renderLocalStorageObjects(): object[] {
  return [
    ...groupRole("sprout:local-storage", [
      { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get", "list", "watch", "create", "delete"] },
      { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create"] },
    ]),
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: LOCAL_STORAGE_CLASS, labels: MANAGED_BY_SPROUT, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: PROVISIONER,
      volumeBindingMode: "WaitForFirstConsumer",
      reclaimPolicy: "Delete",
    },
  ];
}
