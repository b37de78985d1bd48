import { describe, expect, it } from 'vitest';
import { eventId } from '../../src/queue/envelope.js';
import { fixtureBytes, fixtureNames } from './fixtures/config.js';
import { messageText, normalizeWhatsapp } from './normalize.js';

const load = (name: (typeof fixtureNames)[number]): unknown =>
  JSON.parse(fixtureBytes(name).toString('utf8'));
const types = new Set(['whatsapp.message', 'whatsapp.status', 'whatsapp.change']);

describe('whatsapp normalize over recorded fixtures', () => {
  it.each(fixtureNames)('%s: never throws; every event typed, keyed, with a valid job id', (name) => {
    const events = normalizeWhatsapp(load(name));
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(types.has(e.type)).toBe(true);
      expect(e.key).toBeTruthy();
      const id = eventId('whatsapp', 'main', e.key);
      expect(id).not.toContain(':');
      expect(id).not.toMatch(/^\d+$/);
      expect(e.payload).toBeTruthy();
    }
  });

  it('a text message: data.message, subject = the customer wa_id, time from the timestamp, context kept', () => {
    const [e, ...rest] = normalizeWhatsapp(load('text-message'));
    expect(rest).toHaveLength(0);
    expect(e).toMatchObject({
      type: 'whatsapp.message',
      key: 'message|wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
      subject: '16505551234',
      time: new Date(1749416383 * 1000).toISOString(),
      message: {
        id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
        conversation: '16505551234',
        sender: '16505551234',
        text: 'Does it come in another color?',
      },
      payload: {
        from: '16505551234',
        type: 'text',
        text: { body: 'Does it come in another color?' },
        metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
        contact: { profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' },
        whatsapp_business_account_id: '102290129340398',
      },
    });
  });

  it('text is the caption, the reply button title or the list row title', () => {
    expect(normalizeWhatsapp(load('image-caption'))[0]?.message?.text).toBe('This is the one');
    expect(normalizeWhatsapp(load('interactive-button-reply'))[0]?.message?.text).toBe('Cancel');
    expect(normalizeWhatsapp(load('interactive-list-reply'))[0]?.message?.text).toBe('Priority Mail Express');
    expect(messageText({ type: 'button', button: { text: 'Yes', payload: 'yes' } })).toBe('Yes');
    expect(messageText({ type: 'location', location: { latitude: 1 } })).toBeUndefined();
  });

  it("a shared-contacts message keeps its own contacts list; the sender's profile is beside it", () => {
    const [e] = normalizeWhatsapp(load('contacts-message'));
    const payload = e?.payload as {
      contacts: Array<{ name: { formatted_name: string } }>;
      contact: { wa_id: string };
    };
    expect(payload.contacts[0]?.name.formatted_name).toBe('Barbara J. Johnson');
    expect(payload.contact.wa_id).toBe('16505551234');
  });

  it('statuses: one event per status, keyed by id and status, errors kept', () => {
    const [sent] = normalizeWhatsapp(load('status-sent'));
    expect(sent).toMatchObject({
      type: 'whatsapp.status',
      subject: '16505551234',
      key: expect.stringMatching(/\|sent$/),
    });
    expect(sent?.message).toBeUndefined();
    const [failed] = normalizeWhatsapp(load('status-failed'));
    expect(failed?.payload).toMatchObject({ status: 'failed', errors: [{ code: 131047 }] });
  });

  it('a change that is not messages/statuses is one whatsapp.change carrying the change', () => {
    const [e] = normalizeWhatsapp(load('template-status-update'));
    expect(e).toMatchObject({
      type: 'whatsapp.change',
      payload: {
        field: 'message_template_status_update',
        value: { event: 'APPROVED' },
        whatsapp_business_account_id: '102290129340398',
      },
    });
    expect(normalizeWhatsapp(load('template-status-update'))[0]?.key).toBe(e?.key);
    const other = normalizeWhatsapp({
      entry: [{ id: '1', changes: [{ field: 'messages', value: { errors: [{ code: 1 }] } }] }],
    });
    expect(other).toMatchObject([{ type: 'whatsapp.change' }]);
    expect(other[0]?.key).not.toBe(e?.key);
  });

  it('a batch: one event per message, per status and per other change, each with its own key', () => {
    const events = normalizeWhatsapp(load('batch'));
    expect(events.map((e) => e.type)).toEqual([
      'whatsapp.message',
      'whatsapp.message',
      'whatsapp.status',
      'whatsapp.status',
      'whatsapp.change',
    ]);
    expect(new Set(events.map((e) => e.key)).size).toBe(5);
    expect(events[1]?.message).toMatchObject({ conversation: '16505559876', text: 'second' });
    expect(events[1]?.payload).toMatchObject({ contact: { profile: { name: 'Kurt Anders' } } });
  });

  it('never throws on shapes Meta does not send', () => {
    for (const body of [
      null,
      1,
      'x',
      [],
      {},
      { entry: 'x' },
      { entry: [1, null, { changes: 'x' }, { changes: [null, 2] }] },
    ]) {
      expect(() => normalizeWhatsapp(body)).not.toThrow();
    }
    const odd = normalizeWhatsapp({
      entry: [{ changes: [{ field: 'messages', value: { messages: [{}], statuses: [{ id: 'x' }] } }] }],
    });
    expect(odd.map((e) => [e.type, e.key])).toEqual([
      ['whatsapp.message', undefined],
      ['whatsapp.status', undefined],
    ]);
  });
});
