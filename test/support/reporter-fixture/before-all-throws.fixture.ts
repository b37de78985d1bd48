import { beforeAll, expect, it } from 'vitest';

// As the dashboard test without a browser: its setup throws, so its tests never run.
beforeAll(() => {
  throw new Error('cannot launch the browser');
});
it('needs the browser', () => expect(true).toBe(true));
it('needs it too', () => expect(true).toBe(true));
