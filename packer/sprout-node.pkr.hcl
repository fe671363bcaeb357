# Sprout's node image on OpenStack, AWS, Google Cloud and Azure: one template, four sources, the
# same build steps (image-build/cloud-image.sh) on a Debian 12 base. Build one cloud with
#   npm run build && packer init packer && packer build -only='sprout.amazon-ebs.node' packer
# (or openstack.node, googlecompute.node, azure-arm.node) and put the image it prints into
# cluster.yaml (provider.image). See packer/README.md.

packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.3.0"
    }
    googlecompute = {
      source  = "github.com/hashicorp/googlecompute"
      version = ">= 1.1.0"
    }
    azure = {
      source  = "github.com/hashicorp/azure"
      version = ">= 2.1.0"
    }
    openstack = {
      source  = "github.com/hashicorp/openstack"
      version = ">= 1.1.0"
    }
  }
}

# --- what goes into the image ----------------------------------------------------------------

variable "kubernetes_version" {
  type        = string
  default     = "1.31.4"
  description = "Kubernetes release (1.30 or later; cluster.yaml's kubernetesVersion must match)"
}

variable "containerd_version" {
  type    = string
  default = "2.0.2"
}

variable "runc_version" {
  type    = string
  default = "1.2.4"
}

variable "cni_plugins_version" {
  type    = string
  default = "1.6.2"
}

variable "etcd_version" {
  type    = string
  default = "3.5.17"
}

variable "node_version" {
  type        = string
  default     = "20.18.1"
  description = "Node.js for the agent and the coordinator (>= 20.18)"
}

variable "pause_image" {
  type    = string
  default = "registry.k8s.io/pause:3.10"
}

variable "coredns_image" {
  type    = string
  default = "registry.k8s.io/coredns/coredns:v1.11.3"
}

variable "image_name" {
  type    = string
  default = "sprout-node"
}

# --- where it is built -----------------------------------------------------------------------

variable "aws_region" {
  type    = string
  default = "eu-north-1"
}

variable "gcp_project" {
  type    = string
  default = ""
}

variable "gcp_zone" {
  type    = string
  default = "europe-north1-a"
}

variable "azure_subscription_id" {
  type    = string
  default = ""
}

variable "azure_resource_group" {
  type    = string
  default = "sprout-images"
}

variable "azure_location" {
  type    = string
  default = "swedencentral"
}

variable "openstack_source_image" {
  type        = string
  default     = "debian-12"
  description = "A Debian 12 (or Ubuntu 22.04/24.04) image in your cloud"
}

variable "openstack_flavor" {
  type    = string
  default = "m1.medium"
}

variable "openstack_networks" {
  type        = list(string)
  default     = []
  description = "Network IDs the builder VM attaches to (one with internet access)"
}

variable "openstack_floating_ip_network" {
  type    = string
  default = ""
}

locals {
  # Image names must be unique per build in every cloud.
  stamp = formatdate("YYYYMMDDhhmm", timestamp())
  name  = "${var.image_name}-${replace(var.kubernetes_version, ".", "-")}-${local.stamp}"
}

source "amazon-ebs" "node" {
  region        = var.aws_region
  instance_type = "t3.medium"
  ami_name      = local.name
  ssh_username  = "admin"
  source_ami_filter {
    filters = {
      name                = "debian-12-amd64-*"
      architecture        = "x86_64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["136693071363"] # Debian's own AWS account
    most_recent = true
  }
  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 20
    volume_type           = "gp3"
    delete_on_termination = true
  }
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  tags = {
    "sprout.dev/kubernetes" = var.kubernetes_version
  }
}

source "googlecompute" "node" {
  project_id          = var.gcp_project
  zone                = var.gcp_zone
  machine_type        = "e2-standard-2"
  source_image_family = "debian-12"
  source_image_project_id = ["debian-cloud"]
  ssh_username        = "packer"
  image_name          = local.name
  image_family        = var.image_name
  disk_size           = 20
  image_labels = {
    sprout-kubernetes = replace(var.kubernetes_version, ".", "-")
  }
}

source "azure-arm" "node" {
  use_azure_cli_auth                = true
  subscription_id                   = var.azure_subscription_id
  location                          = var.azure_location
  vm_size                           = "Standard_D2s_v3"
  os_type                           = "Linux"
  image_publisher                   = "Debian"
  image_offer                       = "debian-12"
  image_sku                         = "12-gen2"
  managed_image_name                = local.name
  managed_image_resource_group_name = var.azure_resource_group
  azure_tags = {
    sprout-kubernetes = var.kubernetes_version
  }
}

source "openstack" "node" {
  image_name          = local.name
  source_image_name   = var.openstack_source_image
  flavor              = var.openstack_flavor
  networks            = var.openstack_networks
  floating_ip_network = var.openstack_floating_ip_network
  ssh_username        = "debian"
  metadata = {
    sprout_kubernetes = var.kubernetes_version
  }
}

build {
  name    = "sprout"
  sources = ["source.amazon-ebs.node", "source.googlecompute.node", "source.azure-arm.node", "source.openstack.node"]

  # The agent, the CLI (the master runs the coordinator) and the agent's wrapper and unit, from
  # this checkout: `npm run build` first.
  provisioner "shell" {
    inline = ["mkdir -p /tmp/sprout"]
  }
  provisioner "file" {
    sources     = ["${path.root}/../dist/sprout-agent.cjs", "${path.root}/../dist/sprout.cjs", "${path.root}/../image-build/agent/sprout-agent", "${path.root}/../image-build/agent/sprout", "${path.root}/../image-build/agent/sprout-agent.service"]
    destination = "/tmp/sprout/"
  }
  provisioner "file" {
    source      = "${path.root}/../image-build/cloud-image.sh"
    destination = "/tmp/sprout/cloud-image.sh"
  }
  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; sudo -E sh -c '{{ .Vars }} {{ .Path }}'"
    environment_vars = [
      "KUBERNETES_VERSION=${var.kubernetes_version}",
      "CONTAINERD_VERSION=${var.containerd_version}",
      "RUNC_VERSION=${var.runc_version}",
      "CNI_PLUGINS_VERSION=${var.cni_plugins_version}",
      "ETCD_VERSION=${var.etcd_version}",
      "NODE_VERSION=${var.node_version}",
      "PAUSE_IMAGE=${var.pause_image}",
      "COREDNS_IMAGE=${var.coredns_image}",
      "SPROUT_BUNDLE=/tmp/sprout",
    ]
    inline = ["bash /tmp/sprout/cloud-image.sh"]
  }

  # Azure images are generalised by its agent as well (cloud-init clean ran in cloud-image.sh).
  provisioner "shell" {
    only   = ["azure-arm.node"]
    inline = ["if command -v waagent >/dev/null; then sudo waagent -force -deprovision+user; fi", "sync"]
  }

  post-processor "manifest" {
    output     = "${path.root}/manifest.json"
    strip_path = true
  }
}
