import { z } from "zod";
import { Ipv4Cidr } from "./net.js";

/**
 * `provider:` for the four clouds. Sprout renders cloud-init user-data and an OpenTofu/Terraform
 * configuration from these, and runs `tofu` (or `terraform`) when one is installed. Every VM
 * boots the image `packer/` builds; `image` names it in the cloud's own terms.
 */

const Name = z.string().min(1).max(255).regex(/^[^\s"\\$]+$/, "must not contain spaces, quotes, backslashes or $");

const common = {
  /** The image packer/ built (OpenStack image name, AMI id, GCP image name or self link, Azure image id). */
  image: Name,
  /** Machine type for node groups not listed in `machineTypes`. */
  machineType: Name.optional(),
  /** Machine type per node group name. */
  machineTypes: z.record(z.string(), Name).default({}),
  /** OpenSSH public key installed for the image's login user on every VM (path; ~ is your home). */
  sshPublicKeyFile: z.string().min(1).default("~/.ssh/id_ed25519.pub"),

  /** Where SSH may come from (the CLI's tunnel to the coordinator uses it). HTTP and HTTPS stay open to all. */
  adminCidrs: z.array(Ipv4Cidr).min(1).default(["0.0.0.0/0"]),
  /** How many resources tofu creates at once (its default, 10, serialises a large cluster's VMs). */
  parallelism: z.number().int().min(1).max(1000).default(100),
};

/** Login user of the image (cloud-init's default user): Debian's images use `debian`, its AMIs `admin`. */
const sshUser = (fallback: string) => z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name").default(fallback);

export const OpenStackProvider = z.strictObject({
  type: z.literal("openstack"),
  ...common,
  sshUser: sshUser("debian"),
  /** The external network floating IPs come from (e.g. `public`, `ext-net`). */
  externalNetwork: Name,
  region: Name.optional(),
  availabilityZone: Name.optional(),
  /** Block storage volume type for storage nodes' bricks (default: the cloud's). */
  volumeType: Name.optional(),
});

export const AwsProvider = z.strictObject({
  type: z.literal("aws"),
  ...common,
  sshUser: sshUser("admin"),
  region: Name,
  availabilityZone: Name.optional(),
});

export const GcpProvider = z.strictObject({
  type: z.literal("gcp"),
  ...common,
  sshUser: sshUser("debian"),
  project: Name,
  region: Name,
  zone: Name,
});

export const AzureProvider = z.strictObject({
  type: z.literal("azure"),
  ...common,
  sshUser: sshUser("debian"),
  location: Name,
  /** Resource group to create (default `sprout-<cluster>`). */
  resourceGroup: Name.optional(),
});

export const CLOUD_TYPES = ["openstack", "aws", "gcp", "azure"] as const;
export type CloudType = (typeof CLOUD_TYPES)[number];
export type CloudProvider = z.infer<typeof OpenStackProvider> | z.infer<typeof AwsProvider> | z.infer<typeof GcpProvider> | z.infer<typeof AzureProvider>;

/** Machine types when the spec names none: 2 vCPUs and 8 GiB, enough for a master with etcd. */
export const DEFAULT_MACHINE_TYPE: Record<CloudType, string> = {
  openstack: "m1.large",
  aws: "t3.large",
  gcp: "e2-standard-2",
  azure: "Standard_D2s_v3",
};

/**
 * Largest user-data each cloud accepts, in bytes of what Sprout hands it (before the cloud's own
 * base64): AWS 16 KiB; OpenStack Nova 65535 bytes *after* base64 (so 49,151 before); Azure
 * custom_data 87,380 base64 characters (65,535 before); GCP 256 KiB per metadata value.
 */
export const USER_DATA_LIMIT: Record<CloudType, number> = {
  aws: 16_384,
  openstack: 49_151,
  azure: 65_535,
  gcp: 262_144,
};

export function isCloudProvider(spec: { provider: { type: string } }): boolean {
  return (CLOUD_TYPES as readonly string[]).includes(spec.provider.type);
}
