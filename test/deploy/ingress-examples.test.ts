import { readdirSync, readFileSync } from 'node:fs';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { channels } from '../../channels/index.js';
import { type AnyChannel, urlNameOf } from '../../src/channel.js';

/**
 * The ingress examples in docs/deploy/: each routes exactly the provider URL prefixes of the
 * channel registry to the public Service (relay:8080) and never names the ops Service or port.
 * Ingress is validated against the Kubernetes schema; the CRDs (Contour, Traefik, Istio) by the
 * fields that carry the routing.
 */
const dir = new URL('../../docs/deploy/', import.meta.url);
const urlNames = (Object.values(channels) as AnyChannel[])
  .filter((c) => c.routes.length > 0)
  .map((c) => `/${urlNameOf(c)}/`)
  .sort();
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
type Doc = { kind: string; spec: Record<string, unknown> };
const docs = (file: string) =>
  parseAllDocuments(readFileSync(new URL(file, dir), 'utf8')).map((d) => d.toJS() as Doc);

/** Every value under `key` anywhere in `value`. */
function collect(value: unknown, key: string): unknown[] {
  if (Array.isArray(value)) return value.flatMap((v) => collect(v, key));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [...(k === key ? [v] : []), ...collect(v, key)]);
}

it('there is an example for nginx-ingress, Contour, Traefik and Istio', () => {
  expect(files.sort()).toEqual([
    'contour-httpproxy.yaml',
    'ingress-nginx.yaml',
    'istio-virtualservice.yaml',
    'traefik-ingressroute.yaml',
  ]);
});

describe.each(files)('%s', (file) => {
  const all = docs(file);

  it('never names the ops Service or port', () => {
    const text = readFileSync(new URL(file, dir), 'utf8').replace(/#.*$/gm, '');
    expect(text).not.toMatch(/relay-ops|9090/);
  });

  it('routes exactly the provider prefixes to relay:8080', () => {
    let prefixes: string[] = [];
    for (const doc of all) {
      if (doc.kind === 'Ingress') {
        expect(() => new Ingress(doc as never).validate()).not.toThrow();
        prefixes = collect(doc.spec, 'path') as string[];
        for (const service of collect(doc.spec, 'service'))
          expect(service).toEqual({ name: 'relay', port: { number: 8080 } });
      }
      if (doc.kind === 'HTTPProxy') {
        prefixes = collect(doc.spec, 'prefix') as string[];
        for (const services of collect(doc.spec, 'services'))
          expect(services).toEqual([{ name: 'relay', port: 8080 }]);
      }
      if (doc.kind === 'IngressRoute') {
        const match = collect(doc.spec, 'match').join(' ');
        expect(match).toContain('Host(`relay.example.com`)');
        prefixes = [...match.matchAll(/PathPrefix\(`([^`]+)`\)/g)].map((m) => m[1] ?? '');
        for (const services of collect(doc.spec, 'services'))
          expect(services).toEqual([{ name: 'relay', port: 8080 }]);
      }
      if (doc.kind === 'VirtualService') {
        prefixes = collect(doc.spec, 'prefix') as string[];
        for (const destination of collect(doc.spec, 'destination'))
          expect(destination).toEqual({ host: 'relay.relay.svc.cluster.local', port: { number: 8080 } });
      }
    }
    expect(prefixes.sort()).toEqual(urlNames);
  });
});

it('the VM nginx config proxies exactly the provider prefixes', () => {
  const conf = readFileSync(new URL('nginx-vm.conf', dir), 'utf8');
  const [, alternatives] = /location ~ \^\/\(([^)]+)\)\//.exec(conf) ?? [];
  expect(
    (alternatives ?? '')
      .split('|')
      .map((n) => `/${n}/`)
      .sort(),
  ).toEqual(urlNames);
  expect(conf.match(/proxy_pass /g)).toHaveLength(1);
});
