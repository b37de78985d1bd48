import { describe, expect, it } from 'vitest';
import type { AnyChannel } from '../channel.js';
import { compileRoutes, findRoute } from './public-routes.js';

const route = (path: string, methods = ['POST']) => ({
  path,
  methods,
  accepts: () => true,
  verify: () => undefined,
  receive: () => ({ events: [] }),
});
const channel = (routes: object[]) => ({ name: 'x', routes }) as unknown as AnyChannel;
const routes = compileRoutes([channel([route('/hook/:group/:trigger'), route('/chat/:account/events')])]);
const found = (target: string) => {
  const m = findRoute(routes, target);
  return typeof m === 'string'
    ? m
    : { route: m.route.bound.route.path, params: m.params, path: m.path, query: m.query };
};

describe('the public router', () => {
  it('matches literals in any case, decodes params, takes one trailing slash, keeps the query as sent', () => {
    expect(found('/HOOK/a%20b/c/?x=1&y')).toEqual({
      route: '/hook/:group/:trigger',
      params: { group: 'a b', trigger: 'c' },
      path: '/HOOK/a%20b/c/',
      query: 'x=1&y',
    });
    expect(found('/chat/acme/events')).toMatchObject({ params: { account: 'acme' } });
    for (const target of ['/hook/a', '/hook/a/b//', '/hook//b', '/hook/a/b/c', '/', '*', '']) {
      expect(found(target), target).toBe('not_found');
    }
    expect(found('/hook/%E0%A4%A/b')).toBe('bad_request');
  });

  it('reads odd targets as parseurl does: absolute-form, fragments, backslashes', () => {
    expect(found('https://relay.example:8443/hook/a/b?q=1')).toMatchObject({
      path: '/hook/a/b',
      query: 'q=1',
    });
    expect(found('/hook/a/b#frag')).toMatchObject({
      path: '/hook/a/b',
      params: { group: 'a', trigger: 'b' },
    });
    expect(found('/hook\\a\\b#f')).toMatchObject({ path: '/hook/a/b' });
    expect(found('http://relay.example')).toBe('not_found');
  });

  it('refuses a route without a verifier or with a pattern it cannot match exactly', () => {
    expect(() => compileRoutes([channel([{ ...route('/a'), verify: undefined }])])).toThrow(/no verifier/);
    expect(() => compileRoutes([channel([route('/a/:b?')])])).toThrow(/only \/literal\/:param/);
  });
});
