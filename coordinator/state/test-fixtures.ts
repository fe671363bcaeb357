import type { NodeRecord } from "./records.js";

/** A valid node record for tests; override what the test is about. */
export function nodeRecord(name: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    name,
    roles: ["service"],
    addresses: ["10.240.0.10"],
    tokenId: "abcdef",
    publicKeyHash: "sha256:00",
    certificate: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    certificateSerial: "01",
    podCidr: "10.244.0.0/24",
    podCidrIndex: 0,
    joinedAt: 1000,
    facts: {
      hostname: name,
      machineId: "m",
      cpus: 2,
      memoryBytes: 1,
      disks: [],
      nics: [{ name: "eth0", mac: "00:00:00:00:00:01", ipv4: ["10.240.0.10"] }],
      os: "debian",
      kernel: "6",
      imageVersion: "none",
      agentVersion: "0.1.0",
      oomScoreAdjRestricted: false,
    },
    manifestRevision: 0,
    manifestHash: "",
    ...over,
  };
}
