/**
 * The Swedish OIDC profile's `userMessage` parameter: the RP's message shown in the BankID app during
 * sign-in, in the person's language; malformed messages and unsupported MIME types are refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { authorizationRequest, openLogin, redirectUriFor, rpFor, statusUrlOf } from '../helpers/flows.ts';

const PARAM = 'https://id.oidc.se/param/userMessage';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('userMessage', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv({ demo: false });
  });
  after(() => env.close());

  it('is announced in discovery with its MIME types', async () => {
    const disco = (await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(disco['https://id.oidc.se/disco/userMessageSupported'], true);
    assert.deepEqual(disco['https://id.oidc.se/disco/userMessageSupportedMimeTypes'], ['text/plain', 'text/markdown']);
  });

  for (const [lang, expected] of [
    ['sv', 'Logga in för att se din ansökan om förskoleplats.'],
    ['en', 'Sign in to see your preschool application.'],
  ] as const) {
    it(`shows the RP's message in the BankID app, in ${lang === 'sv' ? 'Swedish' : 'English'}`, async () => {
      const rp = await rpFor(env, 'e-tjanst');
      const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'), {
        ui_locales: lang,
        [PARAM]: JSON.stringify({ 'message#sv': b64('Logga in för att se din ansökan om förskoleplats.'), 'message#en': b64('Sign in to see your preschool application.'), mime_type: 'text/plain' }),
      });
      const browser = new Browser();
      const opened = await openLogin(browser, req);
      const s = await browser.json<{ qr: string }>(statusUrlOf(opened.pageUrl!, opened.html!));
      const token = s.qr.split('.')[1]!;
      const order = env.sims.bankid.control.orders().find((o) => o.status === 'pending' && env.sims.bankid.control.currentQr(o.orderRef)?.includes(token));
      assert.ok(order, 'the order was found');
      assert.equal(order.userVisibleText, expected);
    });
  }

  for (const [name, value] of [
    ['an unsupported MIME type', { message: b64('Hej'), mime_type: 'text/html' }],
    ['a message that is not base64', { message: 'not base64!' }],
    ['Markdown with HTML', { message: b64('Hej <script>alert(1)</script>'), mime_type: 'text/markdown' }],
    ['no message at all', { mime_type: 'text/plain' }],
  ] as const) {
    it(`refuses ${name} with invalid_request`, async () => {
      const rp = await rpFor(env, 'e-tjanst');
      const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'), { [PARAM]: JSON.stringify(value) });
      const { stoppedAt } = await new Browser().follow(req.url, (loc) => loc.href.startsWith(req.redirectUri));
      assert.equal(stoppedAt?.searchParams.get('error'), 'invalid_request');
      assert.match(stoppedAt?.searchParams.get('error_description') ?? '', /userMessage/);
    });
  }
});
