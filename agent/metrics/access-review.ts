import { z } from "zod";
import type { KubeClient } from "../kube/kube-client.js";
import { GROUP, VERSION, type Caller, type ResourceAttributes } from "./metrics-api.js";

const SubjectAccessReviewStatus = z.object({ status: z.object({ allowed: z.boolean().default(false), reason: z.string().optional(), evaluationError: z.string().optional() }).default({ allowed: false }) });

/** How long a decision is reused: the API server's own delegated authorizer caches 10 s too. */
const TTL_MS = 10_000;
const MAX_ENTRIES = 4_096;

/**
 * Decides, by a SubjectAccessReview, whether the forwarded user may read the metrics it asks
 * for (what `--authorization-kubeconfig` does for metrics-server). Decisions are cached briefly,
 * so the HPA's and `kubectl top`'s repeated polls cost one review per user and scope.
 */
export class AccessReviews {
  private readonly cache = new Map<string, { expires: number; verdict: { allowed: true } | { allowed: false; reason: string } }>();

  constructor(
    private readonly client: () => KubeClient,
    private readonly now: () => number = Date.now,
  ) {}

  async authorize(caller: Caller, a: ResourceAttributes): Promise<{ allowed: true } | { allowed: false; reason: string }> {
    const key = JSON.stringify([caller, a]);
    const hit = this.cache.get(key);
    if (hit && hit.expires > this.now()) return hit.verdict;
    const review = await this.client().review(
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user: caller.user, groups: caller.groups, extra: caller.extra, resourceAttributes: { group: GROUP, version: VERSION, resource: a.resource, verb: a.verb, namespace: a.namespace ?? "", name: a.name ?? "" } },
      },
      SubjectAccessReviewStatus,
    );
    const verdict = review.status.allowed ? ({ allowed: true } as const) : ({ allowed: false, reason: review.status.reason ?? review.status.evaluationError ?? "" } as const);
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(key, { expires: this.now() + TTL_MS, verdict });
    return verdict;
  }
}
