// The deployment files, checked as far as this machine allows (it cannot pull container images, so nothing here
// builds or runs an image): the Kubernetes manifests parse as YAML and agree with each other and with the cluster
// file they carry (ports, probes, volumes, names); the Dockerfile has the shape the README promises.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseClusterFile } from "../../../src/config/cluster-file.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const K8S = path.join(ROOT, "deploy", "k8s");

// The manifests are free-form YAML: walk them as plain data.
type Doc = any;

function docs(file: string): Doc[] {
  const parsed = parseAllDocuments(readFileSync(path.join(K8S, file), "utf8"));
  for (const d of parsed) expect(d.errors, file).toEqual([]);
  return parsed.map((d) => d.toJS() as Doc).filter((d) => d !== null);
}

function one(kind: string, name?: string): Doc {
  const kustomization = docs("kustomization.yaml")[0];
  const all = (kustomization.resources as string[]).flatMap((f) => docs(f));
  const found = all.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  expect(found, `${kind} ${name ?? ""}`).toHaveLength(1);
  return found[0];
}

describe("Kubernetes manifests", () => {
  const sts = one("StatefulSet");
  const headless = one("Service", sts.spec.serviceName);
  const pdb = one("PodDisruptionBudget");
  const config = one("ConfigMap");
  const pod = sts.spec.template.spec;
  const container = pod.containers[0];
  const podLabels = sts.spec.template.metadata.labels;
  const clusterFile = parseClusterFile(config.data["cluster.json"], "configmap cluster.json", "/etc/raftsched/cluster.json");

  it("run the cluster file's nodes: one pod per node, named as its id, at its headless-Service DNS name and port", () => {
    expect(sts.spec.replicas).toBe(clusterFile.nodes.length);
    expect(sts.spec.podManagementPolicy).toBe("Parallel"); // the file's voters bootstrap together
    const ns = "default";
    clusterFile.nodes.forEach((n, i) => {
      expect(n.id).toBe(`${sts.metadata.name}-${i}`);
      expect(n.host).toBe(`${n.id}.${headless.metadata.name}.${ns}.svc.cluster.local`);
      expect(n.port).toBe(container.ports[0].containerPort);
    });
    const idFrom = container.env.find((e: Doc) => e.name === "RAFTSCHED_NODE_ID");
    expect(idFrom.valueFrom.fieldRef.fieldPath).toBe("metadata.name");
  });

  it("have a headless Service that publishes pods before they are ready, on the node's port", () => {
    expect(headless.spec.clusterIP).toBe("None");
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(headless.spec.selector).toEqual(podLabels);
    expect(headless.spec.ports[0].port).toBe(container.ports[0].containerPort);
    expect(headless.spec.ports[0].targetPort).toBe(container.ports[0].name);
  });

  it("probe /healthz (open under authReads) on the api port, over https when the file has tls", () => {
    expect(clusterFile.tls).not.toBeNull();
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const get = container[probe].httpGet;
      expect(get.path, probe).toBe("/healthz");
      expect(get.port, probe).toBe(container.ports[0].name);
      expect(get.scheme, probe).toBe(clusterFile.tls ? "HTTPS" : "HTTP");
    }
  });

  it("keep the data on a claim per pod mounted at /data, and mount the cluster file and certificates read-only", () => {
    const claim = sts.spec.volumeClaimTemplates[0];
    const dataMount = container.volumeMounts.find((m: Doc) => m.name === claim.metadata.name);
    expect(dataMount.mountPath).toBe("/data");
    expect(container.env.find((e: Doc) => e.name === "RAFTSCHED_DATA_DIR").value).toMatch(/^\/data\//);
    const configMount = container.volumeMounts.find((m: Doc) => m.mountPath === "/etc/raftsched/cluster.json");
    expect(configMount.readOnly).toBe(true);
    expect(pod.volumes.find((v: Doc) => v.name === configMount.name).configMap.name).toBe(config.metadata.name);
    const tlsMount = container.volumeMounts.find((m: Doc) => m.name === "tls");
    for (const file of [clusterFile.tls!.cert, clusterFile.tls!.key, clusterFile.tls!.ca!]) expect(file.startsWith(`${tlsMount.mountPath}/`)).toBe(true);
  });

  it("take the tokens from a Secret, run as non-root, give SIGTERM time", () => {
    for (const name of ["RAFTSCHED_TOKEN", "RAFTSCHED_READ_TOKEN"]) {
      expect(container.env.find((e: Doc) => e.name === name).valueFrom.secretKeyRef.name).toBeTruthy();
    }
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(20);
  });

  it("have a PodDisruptionBudget that keeps a majority of the voters", () => {
    expect(pdb.spec.selector.matchLabels).toEqual(podLabels);
    const voters = clusterFile.nodes.filter((n) => n.role === "voter").length;
    const majority = Math.floor(voters / 2) + 1;
    const allowedDown = pdb.spec.maxUnavailable ?? voters - pdb.spec.minAvailable;
    expect(voters - allowedDown).toBeGreaterThanOrEqual(majority);
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(path.join(ROOT, "deploy", "docker", "Dockerfile"), "utf8");
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  const stages = lines.map((l, i) => [l, i] as const).filter(([l]) => /^FROM\s/i.test(l));
  const runtime = lines.slice(stages[stages.length - 1]![1]);

  it("is multi-stage: the runtime stage copies the build's output, not the sources", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.some((l) => /^COPY --from=build .*dist/.test(l))).toBe(true);
    expect(runtime.some((l) => /^COPY\s+(\.\/)?src\b/.test(l))).toBe(false);
  });

  it("runs as a non-root user, keeps /data as a volume, stops on SIGTERM through the entrypoint", () => {
    const user = runtime.filter((l) => /^USER\s/.test(l)).pop();
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)\b/);
    expect(runtime.some((l) => /^VOLUME\s.*\/data/.test(l))).toBe(true);
    expect(runtime).toContain("STOPSIGNAL SIGTERM");
    const entry = runtime.find((l) => l.startsWith("ENTRYPOINT"))!;
    const copied = runtime.find((l) => l.startsWith("COPY deploy/docker/entrypoint.sh"))!;
    expect(entry).toContain(copied.split(/\s+/)[2]);
  });
});
