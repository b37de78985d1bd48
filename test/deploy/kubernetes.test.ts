import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IVolume } from 'kubernetes-models/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { findBinary } from './nginx-harness.js';

/**
 * deploy/kubernetes rendered by kubectl's built-in kustomize (no cluster needed) and every object
 * validated against the Kubernetes schemas (kubernetes-models). Those schemas accept unknown
 * fields, so the settings that matter are also asserted by name below: a misspelt field fails there.
 */
type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

const root = new URL('../../deploy/kubernetes/', import.meta.url);
const overlays = readdirSync(new URL('overlays/', root));

const models: Record<string, { new (data: never): { validate(): void } }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function render(dir: string): Obj[] {
  const kubectl = findBinary(
    'kubectl',
    'install it with `apt-get install kubernetes-client` (kustomize is built in)',
  );
  // Current kubectl warns on stderr about `bases`/`commonLabels`, kept so kustomize v2 renders too.
  const out = execFileSync(kubectl, ['kustomize', new URL(dir, root).pathname], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

function need<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing ${what}`);
  return value;
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The structural check a CRD gets where no schema package is installed: the fields Prometheus Operator reads. */
function checkServiceMonitor(monitor: Obj, services: Obj[]) {
  expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
  const spec = monitor.spec as {
    selector: { matchLabels: Record<string, string> };
    endpoints: Array<{ port: string; path: string }>;
  };
  const selected = services.filter((s) => matches(spec.selector.matchLabels, s.metadata.labels));
  expect(selected.map((s) => s.metadata.name)).toEqual(['relay-ops']);
  const portNames = (need(selected[0], 'ops Service').spec as { ports: Array<{ name: string }> }).ports.map(
    (p) => p.name,
  );
  for (const endpoint of spec.endpoints) {
    expect(portNames).toContain(endpoint.port);
    expect(endpoint.path).toBe('/metrics');
  }
}

it('there is a production overlay', () => expect(overlays).toContain('production'));

describe.each(overlays)('overlays/%s', (overlay) => {
  const objects = render(`overlays/${overlay}`);
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const one = (kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name}`);
    return found;
  };
  const deployment = new Deployment(one('Deployment', 'relay') as never);
  const template = need(deployment.spec?.template, 'pod template');
  const pod = need(template.spec, 'pod spec');
  const container = need(pod.containers[0], 'container');
  const podLabels = template.metadata?.labels ?? {};
  const volumeOf = (has: (v: IVolume) => unknown) => need((pod.volumes ?? []).find(has), 'volume');
  const mountOf = (volume: IVolume) =>
    need(
      container.volumeMounts?.find((m) => m.name === volume.name),
      'mount',
    );

  it('every object validates against the Kubernetes schema (CRDs structurally)', () => {
    for (const object of objects) {
      if (object.kind === 'ServiceMonitor') {
        checkServiceMonitor(object, byKind('Service'));
        continue;
      }
      const Model = models[`${object.apiVersion}/${object.kind}`];
      expect(Model, `no schema for ${object.apiVersion} ${object.kind}: add it to this test`).toBeDefined();
      expect(
        () => new (Model as NonNullable<typeof Model>)(object as never).validate(),
        `${object.kind} ${object.metadata.name}`,
      ).not.toThrow();
      if (object.kind !== 'Namespace')
        expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe('relay');
    }
  });

  it('Deployment: 2 replicas, probes on the ops port, resources, read-only root, non-root, /tmp writable', () => {
    expect(deployment.spec?.replicas).toBe(2);
    expect(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'ops' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'ops' });
    expect(container.startupProbe?.httpGet?.port).toBe('ops');
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 8080 },
      { name: 'ops', containerPort: 9090 },
    ]);
    expect(container.resources?.requests).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources?.limits?.memory).toBeDefined();
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it('relay.yaml from the ConfigMap is a valid relay config whose secrets are all files from the mounted Secret', () => {
    const configVolume = volumeOf((v) => v.configMap);
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    expect(env.RELAY_CONFIG).toBe(`${mountOf(configVolume).mountPath}/relay.yaml`);
    const configMap = one('ConfigMap', need(configVolume.configMap?.name, 'configMap name'));
    const text = (configMap.data as Record<string, string>)['relay.yaml'] ?? '';

    const secretDir = mountOf(volumeOf((v) => v.secret)).mountPath;
    const files = [...text.matchAll(/\w+File: (\S+)/g)].map((m) => m[1] ?? '');
    expect(files.length).toBeGreaterThan(0);
    const local = mkdtempSync(join(tmpdir(), 'relay-k8s-secrets-'));
    for (const file of files) {
      expect(file.startsWith(`${secretDir}/`), file).toBe(true);
      const name = file.slice(secretDir.length + 1);
      // A bot token must look like one; any other secret is free text.
      const value = name.includes('bot-token')
        ? '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'
        : 'a-test-secret-0123456789';
      writeFileSync(join(local, name), `${value}\n`);
    }
    // No secret value is written into the config itself.
    expect(text).not.toMatch(/(secret|token|Token|Secret): (?!\$)\S/);
    const path = join(local, 'relay.yaml');
    writeFileSync(path, text.split(`${secretDir}/`).join(`${local}/`));
    const { config } = loadConfigFile(path, { REDIS_URL: 'redis://relay-redis:6379' });
    expect(config.server).toMatchObject({ port: 8080, opsPort: 9090, bodyLimit: 1024 * 1024 });
  });

  it('two Services: the public one exposes only the public port, the ops one only the ops port', () => {
    const ports = (name: string) =>
      (one('Service', name).spec as { ports: Array<{ targetPort: string }> }).ports;
    expect(ports('relay').map((p) => p.targetPort)).toEqual(['http']);
    expect(ports('relay-ops').map((p) => p.targetPort)).toEqual(['ops']);
    for (const name of ['relay', 'relay-ops'])
      expect(
        matches((one('Service', name).spec as { selector: Record<string, string> }).selector, podLabels),
      ).toBe(true);
  });

  it('PodDisruptionBudget covers the relay pods and leaves one up', () => {
    const spec = one('PodDisruptionBudget', 'relay').spec as {
      minAvailable: number;
      selector: { matchLabels: Record<string, string> };
    };
    expect(matches(spec.selector.matchLabels, podLabels)).toBe(true);
    expect(spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(spec.minAvailable).toBeLessThan(deployment.spec?.replicas ?? 0);
  });

  it('NetworkPolicy: the ops port only from this namespace and monitoring', () => {
    const spec = one('NetworkPolicy', 'relay').spec as {
      podSelector: { matchLabels: Record<string, string> };
      ingress: Array<{ from?: unknown[]; ports: Array<{ port: string }> }>;
    };
    expect(matches(spec.podSelector.matchLabels, podLabels)).toBe(true);
    const opsRules = spec.ingress.filter((r) => r.ports.some((p) => p.port === 'ops'));
    expect(opsRules).toHaveLength(1);
    expect(opsRules[0]?.from).toEqual([
      { podSelector: {} },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    expect(spec.ingress.every((r) => r.ports.every((p) => p.port === 'ops' || p.port === 'http'))).toBe(true);
  });

  it('has a ServiceMonitor on the ops Service', () => expect(byKind('ServiceMonitor')).toHaveLength(1));
});

it('an in-cluster Redis, where there is one, keeps every write and never evicts', () => {
  const redis = new StatefulSet(
    render('overlays/production-with-redis').find((o) => o.kind === 'StatefulSet') as never,
  );
  const args = (redis.spec?.template.spec?.containers[0]?.args ?? []).join(' ');
  expect(args).toContain('--appendonly yes');
  expect(args).toContain('--maxmemory-policy noeviction');
  expect(redis.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage).toBeDefined();
});

it('the validator itself refuses a broken object (this suite can fail)', () => {
  const broken = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: { replicas: 'two' },
  };
  expect(() => new Deployment(broken as never).validate()).toThrow();
});
