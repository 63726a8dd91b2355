// deploy/kubernetes (issue 14 part 3). kind cannot run on these machines (no container engine), so
// the manifests are checked offline: each object against the Kubernetes 1.27 OpenAPI schemas that the
// npm package kubernetes-models compiles into validators (kubeconform is on neither npm nor Debian);
// then what ties them together (labels, named ports, probe paths, args) against Passthru itself: the
// ConfigMap's config through the real loader, the container's args through the real CLI, and a real
// passthru --watch on a directory updated exactly as the kubelet updates a ConfigMap volume.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parseAllDocuments } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../host/config/load.js';
import { spawnPassthru, type PassthruProcess } from '../helpers/cli-process.js';
import { bannerBackend, type Backend } from '../helpers/net.js';

const DIR = new URL('../../deploy/kubernetes/', import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

function docs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(new URL(file, DIR), 'utf8')).map((d) => {
    expect(d.errors, file).toEqual([]);
    return d.toJS();
  });
}

const kustomization = docs('kustomization.yaml')[0];
const objects: Obj[] = (kustomization.resources as string[]).flatMap(docs);
const byKind = (kind: string, name?: string): Obj => {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''} in deploy/kubernetes`);
  return o;
};
const VALIDATORS: Record<string, new (o: Obj) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

const deployment = byKind('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const configMap = byKind('ConfigMap');
const args = container.args as string[];
const arg = (flag: string): string => args[args.indexOf(flag) + 1]!;
const containerPort = (name: string): number => container.ports.find((p: Obj) => p.name === name).containerPort;

describe('deploy/kubernetes manifests', () => {
  it('kustomization lists every manifest of the folder, and each object is valid for its kind', () => {
    const yamlFiles = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...(kustomization.resources as string[])].sort()).toEqual(yamlFiles.sort());
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'Service']);
    for (const o of objects) {
      const V = VALIDATORS[`${o.apiVersion}/${o.kind}`];
      expect(V, `${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new V!(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });

  it('the schema check catches what a typo would do (so the check above can fail)', () => {
    const bad = structuredClone(deployment);
    bad.spec.replicas = '3';
    bad.spec.template.spec.containers[0].ports[0].containerPort = 'mux';
    expect(() => new Deployment(bad).validate()).toThrow(/replicas must be integer/);
    const noSelector = structuredClone(byKind('PodDisruptionBudget'));
    noSelector.spec.maxUnavailable = [1];
    expect(() => new PodDisruptionBudget(noSelector).validate()).toThrow();
  });

  it('labels, selectors and named ports agree: Services and PDB select the pods, ports resolve', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    for (const o of [...objects.filter((x) => x.kind === 'Service').map((s) => s.spec.selector), byKind('PodDisruptionBudget').spec.selector.matchLabels]) {
      expect(Object.entries(o).every(([k, v]) => labels[k] === v)).toBe(true);
    }
    const names = new Set(container.ports.map((p: Obj) => p.name));
    for (const s of objects.filter((x) => x.kind === 'Service')) for (const p of s.spec.ports) expect(names.has(p.targetPort)).toBe(true);
    expect(names.has(container.readinessProbe.httpGet.port) && names.has(container.livenessProbe.tcpSocket.port)).toBe(true);
  });

  it('the public Service is a LoadBalancer with Local traffic policy and PROXY protocol in; the config accepts it', () => {
    const svc = byKind('Service', 'passthru');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.externalTrafficPolicy).toBe('Local');
    expect(svc.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-proxy-protocol']).toBe('*');
    const config = parseConfig(configMap.data['config.json'], 'configmap.yaml');
    const [server] = config.servers;
    expect(server!.options.acceptProxy).toBe(true);
    expect(server!.listen.port).toBe(containerPort('mux'));
  });

  it('probes: readiness on /healthz of the --metrics port, liveness not on /healthz (503 while draining)', () => {
    expect(container.readinessProbe.httpGet.path).toBe('/healthz');
    expect(containerPort('metrics')).toBe(Number(arg('--metrics').split(':')[1]));
    expect(container.livenessProbe.httpGet).toBeUndefined();
    // The kubelet must not SIGKILL a drain: preStop + --drain-timeout stay under the grace period.
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    const drain = Number(arg('--drain-timeout').replace(/s$/, ''));
    expect(preStop + drain).toBeLessThan(pod.terminationGracePeriodSeconds);
  });

  it('hardening: non-root, read-only root, no capabilities, no privilege escalation; the config is a directory mount', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.securityContext.capabilities.add).toBeUndefined();
    expect(containerPort('mux')).toBeGreaterThanOrEqual(1024);
    const mount = container.volumeMounts.find((m: Obj) => m.name === 'config');
    expect(mount.subPath).toBeUndefined(); // a subPath mount is never updated by the kubelet
    expect(arg('-c')).toBe(`${mount.mountPath}/config.json`);
    expect(args).toContain('--watch');
    expect(deployment.spec.replicas).toBeGreaterThan(1);
  });
});

/**
 * A ConfigMap volume as the kubelet writes it (pkg/volume/util's atomic writer): the files live in a
 * timestamped hidden directory, `..data` links to it, and each key is a link through `..data`.
 */
class ConfigMapVolume {
  private n = 0;
  private current = '';
  constructor(readonly dir: string) {}

  write(files: Record<string, string>): void {
    const ts = `..2026_12_07_00_00_${String(this.n++).padStart(2, '0')}.000000001`;
    mkdirSync(join(this.dir, ts));
    for (const [k, v] of Object.entries(files)) writeFileSync(join(this.dir, ts, k), v);
    symlinkSync(ts, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const k of Object.keys(files)) {
      try {
        symlinkSync(join('..data', k), join(this.dir, k));
      } catch {
        // already there from the first write: it resolves through ..data
      }
    }
    if (this.current) rmSync(join(this.dir, this.current), { recursive: true });
    this.current = ts;
  }
}

describe('the Deployment\'s container command on a kubelet-style ConfigMap volume (real process)', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  /** The ConfigMap's config with its listener on a free loopback port and every backend `to`. */
  function localConfig(to: Backend): string {
    const c = JSON.parse(configMap.data['config.json']);
    const [addr] = Object.keys(c.servers);
    const server = c.servers[addr!];
    for (const section of Object.values(server) as Obj[]) {
      for (const rule of Object.values(section) as Obj[]) if (rule.to_addr) rule.to_addr = `127.0.0.1:${to.port}`;
    }
    return JSON.stringify({ ...c, servers: { '127.0.0.1:0': server } });
  }

  /** A client behind the load balancer: a PROXY v1 header (accept_proxy), then an SSH banner. */
  function sshThroughLb(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\r\nSSH-2.0-OpenSSH_9.2\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('error', reject);
      s.on('close', () => resolve(got));
    });
  }

  it('serves, and reloads when the ConfigMap is updated by the ..data symlink swap', async () => {
    const [a, b] = await Promise.all([bannerBackend('backend a\n'), bannerBackend('backend b\n')]);
    cleanup.push(() => a.close(), () => b.close());
    const root = mkdtempSync(join(tmpdir(), 'passthru-configmap-'));
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    const volume = new ConfigMapVolume(root);
    volume.write({ 'config.json': localConfig(a) });

    // The container's args as written, with the mount path and the metrics address made local.
    const mountPath = container.volumeMounts[0].mountPath as string;
    const local = args.map((x) => (x.startsWith(mountPath) ? x.replace(mountPath, root) : x === arg('--metrics') ? '127.0.0.1:0' : x));
    const p: PassthruProcess = spawnPassthru(local);
    cleanup.push(async () => {
      p.kill('SIGKILL');
      await p.exited;
    });
    const port = (await p.waitLine((l) => l.event === 'listening')).port as number;
    const mport = (await p.waitLine((l) => l.event === 'metrics-listening')).port as number;
    expect((await fetch(`http://127.0.0.1:${mport}/healthz`)).status).toBe(200);
    expect(await sshThroughLb(port)).toBe('backend a\n');
    const first = await p.waitLine((l) => l.event === 'connection');
    expect(first.client).toBe('203.0.113.7:40000');

    volume.write({ 'config.json': localConfig(b) });
    const reload = await p.waitLine((l) => l.event === 'reload');
    expect(reload.result).toBe('ok');
    expect(await sshThroughLb(port)).toBe('backend b\n');

    // A broken update is refused and the last good config keeps serving.
    volume.write({ 'config.json': '{ "version": "v0.2.0", "servers": ' });
    await p.waitLine((l) => l.event === 'reload' && l.result === 'refused');
    expect(await sshThroughLb(port)).toBe('backend b\n');
  }, 30_000);
});
