/**
 * The security corpus (fixtures/saml): each invalid case is refused with its own HubError code and
 * detail, and its valid twin, built the same way without that one defect, is accepted. The reasons are
 * printed as test diagnostics. The files must be what the generator writes today.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SAML, type ValidateInResponseTo } from '@node-saml/node-saml';
import { HubError } from '../../src/contracts/errors.ts';
import { CORPUS, VALID_EXTRAS, type CorpusCase } from './corpus.ts';
import { corpusFiles } from './generate-corpus.ts';
import { validateResponse } from './response.ts';
import {
  FIXTURES,
  IDP,
  NOW,
  RELAY_STATE,
  REQUEST_ID,
  TORE,
  acsOf,
  b64,
  corpusState,
  makeAdapter,
  rawConfig,
  spEntityOf,
  testContext,
  testKeys,
} from './testkit.ts';
import { enableXmlDsigEcdsa, trustedKeyFromCertificate } from './xmldsig.ts';

const read = (dir: 'valid' | 'invalid', name: string) => readFile(path.join(FIXTURES, dir, `${name}.xml`), 'utf8');

async function present(c: Pick<CorpusCase, 'config' | 'state'>, xml: string, times = 1) {
  const ctx = testContext();
  const adapter = await makeAdapter(rawConfig(c.config ?? {}), ctx);
  try {
    let result;
    for (let i = 0; i < times; i++) {
      result = await adapter.complete({ url: acsOf(), fields: { SAMLResponse: b64(xml.trimEnd()), RelayState: RELAY_STATE }, state: corpusState(c.state ?? {}) });
    }
    return result!;
  } finally {
    await adapter.close();
  }
}

describe('SAML security corpus', () => {
  it('is what the generator writes (run `node adapters/saml/generate-corpus.ts` after changing it)', async () => {
    for (const [rel, content] of corpusFiles()) {
      assert.equal(await readFile(path.join(FIXTURES, rel), 'utf8'), content, `fixtures/saml/${rel} is out of date`);
    }
  });

  for (const c of CORPUS) {
    describe(c.name, () => {
      it(`valid twin is accepted`, async () => {
        const xml = await read('valid', c.name);
        if (c.expect.code === 'EID_USER_CANCELLED' || c.expect.code === 'EID_FAILED') {
          // The twin of a status case is the successful answer to the same request.
          const identity = await present(c, xml);
          assert.equal(identity.subject, TORE);
          return;
        }
        const identity = await present(c, xml);
        assert.equal(identity.subjectType, 'personnummer');
        assert.equal(identity.subject, TORE);
      });

      it(`invalid case is refused: ${c.about}`, async (t) => {
        const xml = await read('invalid', c.name);
        let error: unknown;
        try {
          await present(c, xml, c.replay ? 2 : 1);
        } catch (err) {
          error = err;
        }
        assert.ok(error instanceof HubError, `expected a HubError, got ${String(error)}`);
        t.diagnostic(`${c.name}: ${error.code}: ${error.detail}`);
        assert.equal(error.code, c.expect.code, error.detail);
        assert.match(error.detail ?? '', c.expect.detail);
      });
    });
  }

  for (const v of VALID_EXTRAS) {
    it(`valid/${v.name}.xml is accepted: ${v.about}`, async () => {
      const identity = await present({ ...(v.config ? { config: v.config } : {}) }, await read('valid', v.name));
      assert.equal(identity.subjectType, v.expect.subjectType);
      assert.equal(identity.subject, v.expect.subject);
    });
  }
});

/**
 * Signature wrapping with the structural refusal switched off: the signature check and "read only the
 * signed bytes" must still never yield the attacker's identity. The same for node-saml on its own.
 */
describe('signature wrapping behind the structural checks', () => {
  const keys = testKeys();
  const idpKeys = [trustedKeyFromCertificate(keys['idp-rsa'].certPem), trustedKeyFromCertificate(keys['idp-ec'].certPem)];
  enableXmlDsigEcdsa();

  for (const c of CORPUS.filter((x) => x.name.startsWith('xsw'))) {
    it(`${c.name}: never the attacker's number`, async (t) => {
      const xml = await read('invalid', c.name);
      const requireSignedResponse = c.config?.['requireSignedResponse'] !== false;
      try {
        const result = await validateResponse(b64(xml.trimEnd()), {
          now: NOW,
          skewMs: 60_000,
          maxResponseAgeMs: 180_000,
          maxResponseBytes: 262_144,
          maxDepth: 24,
          idpEntityId: IDP,
          idpKeys,
          spEntityId: spEntityOf(),
          acsUrl: acsOf(),
          requestId: REQUEST_ID,
          requestedAt: NOW - 60_000,
          forceAuthn: false,
          requestedLoa: ['http://id.elegnamnden.se/loa/1.0/loa3'],
          decryptionKeys: [],
          requireSignedResponse,
          wantAssertionsSigned: true,
          requireEncryptedAssertion: false,
          wrappingCheck: false,
        });
        assert.deepEqual(result.attributes.get('urn:oid:1.2.752.29.4.13'), [TORE]);
        t.diagnostic(`${c.name}: adapter without the wrapping check reads only the signed original`);
      } catch (err) {
        assert.ok(err instanceof HubError, String(err));
        t.diagnostic(`${c.name}: adapter without the wrapping check: ${err.code}: ${err.detail}`);
      }

      const saml = new SAML({
        callbackUrl: acsOf(),
        issuer: spEntityOf(),
        audience: spEntityOf(),
        idpCert: [keys['idp-rsa'].certPem, keys['idp-ec'].certPem],
        wantAuthnResponseSigned: requireSignedResponse,
        wantAssertionsSigned: true,
        acceptedClockSkewMs: -1,
        validateInResponseTo: 'never' as ValidateInResponseTo,
      });
      try {
        const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: b64(xml.trimEnd()) });
        assert.equal((profile?.['attributes'] as Record<string, unknown>)['urn:oid:1.2.752.29.4.13'], TORE);
        t.diagnostic(`${c.name}: node-saml alone reads only the signed original`);
      } catch (err) {
        t.diagnostic(`${c.name}: node-saml alone refuses: ${(err as Error).message}`);
      }
    });
  }
});
