/**
 * `npm start`: the hub with simulators of every external service and the demo relying parties, on
 * embedded defaults. Simulators already running elsewhere (`npm run simulators`) are used instead when
 * IDNAV_BANKID_URL is set. Never for production: there, run `node src/main.ts` with a production config.
 */
import { mountDemoRps } from '../demo/index.ts';
import { startHub } from '../src/main.ts';
import { startSimulators } from './simulators.ts';

if (process.env.NODE_ENV === 'production') {
  process.stderr.write('npm start runs dev simulators and demo services; in production run `node src/main.ts`.\n');
  process.exit(1);
}

const external = !!process.env.IDNAV_BANKID_URL;
const sims = external ? undefined : await startSimulators({ pkiDir: process.env.IDNAV_DEV_PKI });
if (sims) Object.assign(process.env, sims.env);

const port = Number(process.env.PORT ?? 3000);
const issuer = process.env.IDNAV_ISSUER || `http://localhost:${port}`;
// The demo clients' redirect URIs follow the issuer (config/clients/*.yaml read ${IDNAV_ISSUER}).
process.env.IDNAV_ISSUER = issuer;
const hub = await startHub({ mounts: mountDemoRps({ issuer }) });

process.stdout.write(`
idnav is running (dev mode)
  OpenID Connect issuer        ${issuer}/.well-known/openid-configuration
  Karlstad's e-service (demo)  ${issuer}/demo/e-tjanst/karlstad/
  Kil's school system (demo)   ${issuer}/demo/kil-skola/
  Simulated BankID app         ${issuer}/dev/bankid-app/
  Simulated Freja eID app      ${issuer}/dev/freja-app/
  BankID simulator (RP API)    ${process.env.IDNAV_BANKID_URL}
  Navet simulator              ${process.env.IDNAV_NAVET_URL}
  SAML IdP simulator           ${process.env.IDNAV_SAML_IDP_URL}/ (eIDAS connector, Sweden Connect, Karlstad staff)
  Test persons (JSON)          ${issuer}/dev/test-persons
`);
void hub;
