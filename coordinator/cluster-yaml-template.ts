/** The commented `cluster.yaml` that `sprout init` writes. Every option shows its default. */
export const CLUSTER_YAML_TEMPLATE = `# Sprout cluster definition. Every field below shows its default; delete what you do not change.
apiVersion: sprout.dev/v1alpha1
kind: Cluster
name: {{name}}

# Kubernetes version the nodes run. The local provider builds 1.20.2 from Debian's sources;
# cloud images carry current releases (1.30+).
kubernetesVersion: 1.20.2

# Where the nodes come from: local (node machines on this computer), ssh (machines you have),
# or openstack | aws | gcp | azure.
provider:
  type: local

# Node groups (KubeNow roles): master, service, storage, edge. The master acts as edge when
# there is no edge group.
nodeGroups:
  - name: master
    roles: [master, edge]
    count: 1
  - name: service
    roles: [service]
    count: 2
  # - name: storage
  #   roles: [storage]
  #   count: 2

networks:
  nodeCidr: 10.240.0.0/24     # node addresses (local provider bridge)
  podCidr: 10.244.0.0/16      # split into one /podCidrMaskSize per node
  podCidrMaskSize: 24
  serviceCidr: 10.96.0.0/12
  clusterDomain: cluster.local

# Shared POSIX storage served by the storage nodes (one GlusterFS volume, a brick per storage
# node). Service nodes mount it. Each claim in the StorageClass sprout-shared (ReadWriteMany) or
# sprout-reference (ReadOnlyMany, copied from another claim) gets its own directory on it,
# limited to its size. Claims without a class get a directory on their pod's node (sprout-local).
storage:
  replication: 1              # copies of each file; storage nodes must be a multiple of it
  volumeSizeGiB: 10           # each storage node's volume (local provider: a sparse file)
  device: /dev/vdb            # the volume's device on storage nodes, formatted only if empty; none = root fs
  volumeName: sprout-shared
  mountPath: /mnt/sprout-shared   # where service nodes mount the volume

# Reverse proxy (nginx) on the edge nodes for Ingress objects, on ports 80 and 443. An Ingress host
# without a dot is served as <host>.<baseDomain>; the default base is <edge-ip>.nip.io. HTTPS uses
# a certificate from the cluster CA unless tls names your own (paths relative to this directory).
# From outside the cluster's networks, edge nodes accept only openPorts (TCP) and ICMP.
edge: {}
#  baseDomain: lab.example.org
#  tls: { certFile: edge.crt, keyFile: edge.key }
#  openPorts: [22, 80, 443]
#  loadBalancerPorts: 1024-29999   # ports LoadBalancer Services may take on the edge addresses

# Cluster DNS (Unbound on every node, at the 10th address of serviceCidr). Names outside the
# cluster go to each node's own resolvers unless upstreams lists others.
dns: {}
#  upstreams: [192.0.2.53]

# HTTP(S) proxy for containerd (image pulls) and the kubelet, if your network requires one.
# NO_PROXY always covers the cluster's own networks and names and cloud metadata.
# egressProxy:
#   httpProxy: http://proxy.example.org:3128
#   httpsProxy: http://proxy.example.org:3128
#   noProxy: [.internal.example.org]

coordinator:
  listen: 127.0.0.1:7443      # host:port the coordinator listens on
  advertise: []               # extra names/IPs agents use to reach it (added to its certificate)
  joinRateLimit: { perSecond: 50, burst: 200 }
  tokenTtl: 2h
`;
