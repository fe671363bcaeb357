/**
 * What agents and the coordinator agree on for barriers: the names agents wait on, and the agent
 * step ids whose completion the coordinator reads off the timelines to open the storage ones.
 */
export const BARRIER = {
  apiServerReady: "apiserver-ready",
  allNodesJoined: "all-nodes-joined",
  storageNodesReported: "storage-nodes-reported",
  storageVolumeReady: "storage-volume-ready",
} as const;

export const STORAGE_STEP = {
  /** Every storage node's glusterd runs with its brick: opens `storage-nodes-reported`. */
  glusterd: "storage/glusterd",
  /** The volume is formed and started: opens `storage-volume-ready`. */
  volume: "storage/volume",
} as const;
