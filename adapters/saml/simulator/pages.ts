/**
 * Pages of the SAML IdP simulator: the login page (pick a test person, "Logga in" or "Avbryt"), the
 * auto-submitting form that carries the Response to the SP, error pages, and dev overview pages.
 * No inline script or style: the CSP allows scripts and styles from the simulator itself only.
 */
import type { AcceptedAuthnRequest } from './authn-request.ts';
import { personLabel, type SamlTestPerson } from './persons.ts';

export const LOGIN_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/**
 * The auto-post page submits a form to the SP. It sets no `form-action`: browsers apply that directive to
 * the redirects that follow the submission too, and the SP's ACS redirects onwards.
 */
export const AUTOPOST_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const both = (sv: string, en: string): string => `${esc(sv)} <span lang="en" class="en">/ ${esc(en)}</span>`;

export interface Texts {
  sv: string;
  en: string;
}

function layout(o: { title: string; heading: Texts; body: string; assets: string; script?: boolean }): string {
  return `<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(o.title)}</title>
<link rel="stylesheet" href="${o.assets}sim.css">
</head>
<body>
<header><p class="brand">${esc(o.heading.sv)}</p><p class="brand-en" lang="en">${esc(o.heading.en)}</p><p class="sim">${both('Simulator för test – inga riktiga personer', 'Test simulator – no real people')}</p></header>
<main>
${o.body}
</main>
${o.script ? `<script src="${o.assets}autopost.js"></script>\n` : ''}</body>
</html>
`;
}

export interface LoginPageInput {
  persona: { displayName: Texts; entityId: string };
  spName: string;
  request: AcceptedAuthnRequest;
  loa: string;
  persons: SamlTestPerson[];
  sessionKey: string;
  selection?: string;
  error?: Texts;
  selectedPersonId?: string;
}

export function loginPage(o: LoginPageInput): string {
  const error = o.error ? `<p class="error" role="alert">${both(o.error.sv, o.error.en)}</p>\n` : '';
  const list =
    o.persons.length === 0
      ? `<p class="error">${both('Ingen testperson passar förfrågan.', 'No test person fits the request.')}</p>`
      : o.persons
          .map((p, i) => {
            const l = personLabel(p);
            const checked = (o.selectedPersonId ?? o.persons[0]!.id) === p.id ? ' checked' : '';
            const tags = p.tags.length > 0 ? ` <span class="tags">${esc(p.tags.join(', '))}</span>` : '';
            return `<li><input type="radio" id="p${i}" name="personId" value="${esc(p.id)}"${checked} required><label for="p${i}"><strong>${esc(l.name)}</strong> <code>${esc(l.detail)}</code>${tags}</label></li>`;
          })
          .join('\n');
  const flags = [o.request.forceAuthn ? 'ForceAuthn' : '', o.request.nameIdFormat === 'transient' ? 'transient NameID' : ''].filter(Boolean).join(', ');
  return layout({
    title: `${o.persona.displayName.sv} – logga in`,
    heading: o.persona.displayName,
    assets: '',
    body: `<h1>${both('Logga in', 'Sign in')}</h1>
<p>${both('Tjänsten', 'The service')} <strong>${esc(o.spName)}</strong> ${both('vill att du legitimerar dig.', 'asks you to identify yourself.')}</p>
${error}<form method="post" action="login">
<input type="hidden" name="sessionKey" value="${esc(o.sessionKey)}">
<fieldset>
<legend>${both('Välj testperson', 'Choose a test person')}</legend>
<ul class="persons">
${list}
</ul>
</fieldset>
<div class="buttons">
<button type="submit" name="action" value="login" class="primary">${both('Logga in', 'Log in')}</button>
<button type="submit" name="action" value="cancel" formnovalidate>${both('Avbryt', 'Cancel')}</button>
</div>
</form>
<details>
<summary>${both('Förfrågan', 'The request')}</summary>
<dl>
<dt>SP</dt><dd><code>${esc(o.request.issuer)}</code></dd>
<dt>AuthnRequest ID</dt><dd><code>${esc(o.request.id)}</code></dd>
<dt>ACS</dt><dd><code>${esc(o.request.acsUrl)}</code></dd>
<dt>${both('Begärd tillitsnivå', 'Requested LoA')}</dt><dd><code>${esc(o.request.requestedLoas.join(' ') || '—')}</code></dd>
<dt>${both('Utfärdad tillitsnivå', 'Issued LoA')}</dt><dd><code>${esc(o.loa)}</code></dd>
${o.selection ? `<dt>${both('Förvald person', 'Principal selection')}</dt><dd><code>${esc(o.selection)}</code></dd>\n` : ''}${flags ? `<dt>${both('Flaggor', 'Flags')}</dt><dd><code>${esc(flags)}</code></dd>\n` : ''}<dt>IdP</dt><dd><code>${esc(o.persona.entityId)}</code></dd>
</dl>
</details>`,
  });
}

export function autoPostPage(o: { acsUrl: string; fields: Record<string, string>; displayName: Texts }): string {
  const inputs = Object.entries(o.fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('\n');
  return layout({
    title: 'Skickar svar till tjänsten',
    heading: o.displayName,
    assets: '',
    script: true,
    body: `<h1>${both('Du skickas tillbaka till tjänsten', 'Returning you to the service')}</h1>
<form id="saml-post" method="post" action="${esc(o.acsUrl)}">
${inputs}
<p>${both('Om inget händer, tryck på knappen.', 'If nothing happens, press the button.')}</p>
<button type="submit" class="primary">${both('Fortsätt', 'Continue')}</button>
</form>`,
  });
}

export function errorPage(o: { title: Texts; message: string; xml?: string; displayName: Texts; assets?: string }): string {
  return layout({
    title: o.title.sv,
    heading: o.displayName,
    assets: o.assets ?? '',
    body: `<h1>${both(o.title.sv, o.title.en)}</h1>
<p class="error" role="alert">${esc(o.message)}</p>
${o.xml ? `<details open><summary>${both('Mottagen SAML-förfrågan', 'SAML request received')}</summary><pre>${esc(o.xml)}</pre></details>` : ''}`,
  });
}

export interface PersonaSummary {
  name: string;
  profile: string;
  displayName: Texts;
  entityId: string;
  ssoUrl: string;
  metadataUrl: string;
  loa: string;
  supportedLoas: string[];
}

export function indexPage(personas: PersonaSummary[]): string {
  const rows = personas
    .map(
      (p) =>
        `<tr><td><a href="${esc(p.name)}/">${esc(p.displayName.sv)}</a></td><td><code>${esc(p.profile)}</code></td><td><code>${esc(p.entityId)}</code></td><td><a href="${esc(p.name)}/metadata">metadata</a></td></tr>`,
    )
    .join('\n');
  return layout({
    title: 'SAML IdP-simulator',
    heading: { sv: 'SAML IdP-simulator (idnav dev)', en: 'SAML IdP simulator (idnav dev)' },
    assets: '',
    body: `<h1>${both('Identitetsutfärdare', 'Identity providers')}</h1>
<table>
<thead><tr><th scope="col">${both('Namn', 'Name')}</th><th scope="col">Profil</th><th scope="col">entityID</th><th scope="col">Metadata</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  });
}

export function personaPage(p: PersonaSummary, persons: SamlTestPerson[], pending: Array<{ sessionKey: string; requestId: string; sp: string }>): string {
  const rows = persons
    .map((x) => {
      const l = personLabel(x);
      return `<tr><td>${esc(l.name)}</td><td><code>${esc(x.id)}</code></td><td><code>${esc(l.detail)}</code></td><td>${esc(x.tags.join(', '))}</td></tr>`;
    })
    .join('\n');
  const sessions =
    pending.length === 0
      ? `<p>${both('Inga väntande inloggningar.', 'No pending sign-ins.')}</p>`
      : `<ul>${pending.map((s) => `<li><code>${esc(s.requestId)}</code> ${both('från', 'from')} <code>${esc(s.sp)}</code></li>`).join('')}</ul>`;
  return layout({
    title: p.displayName.sv,
    heading: p.displayName,
    assets: '',
    body: `<h1>${both(p.displayName.sv, p.displayName.en)}</h1>
<dl>
<dt>entityID</dt><dd><code>${esc(p.entityId)}</code></dd>
<dt>SSO (HTTP-Redirect, HTTP-POST)</dt><dd><code>${esc(p.ssoUrl)}</code></dd>
<dt>Metadata</dt><dd><a href="metadata"><code>${esc(p.metadataUrl)}</code></a></dd>
<dt>${both('Tillitsnivåer', 'Levels of assurance')}</dt><dd><code>${esc(p.supportedLoas.join(' '))}</code> (${both('standard', 'default')} <code>${esc(p.loa)}</code>)</dd>
</dl>
<h2>${both('Väntande inloggningar', 'Pending sign-ins')}</h2>
${sessions}
<h2>${both('Testpersoner', 'Test persons')}</h2>
<table>
<thead><tr><th scope="col">${both('Namn', 'Name')}</th><th scope="col">id</th><th scope="col">${both('Identitet', 'Identity')}</th><th scope="col">${both('Egenskaper', 'Tags')}</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  });
}

export const AUTOPOST_JS = `// Submits the SAML response form as soon as the page has loaded (the button is there without script).
(function () {
  var form = document.getElementById('saml-post');
  if (form) form.submit();
})();
`;

export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64" role="img" aria-label="idnav test IdP"><rect width="64" height="64" rx="12" fill="#1d4f6e"/><text x="32" y="40" font-family="sans-serif" font-size="20" fill="#fff" text-anchor="middle">IdP</text></svg>
`;

export const SIM_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; }
header { background: #1d4f6e; color: #fff; padding: 0.75rem 1rem; }
header p { margin: 0; }
.brand { font-weight: 700; }
.sim { font-size: 0.85rem; opacity: 0.85; }
main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
.en { opacity: 0.75; font-weight: normal; }
fieldset { border: 1px solid rgba(127,127,127,0.5); padding: 0.5rem 1rem; }
ul.persons { list-style: none; padding: 0; margin: 0; }
ul.persons li { padding: 0.35rem 0; display: flex; gap: 0.5rem; align-items: baseline; }
.tags { font-size: 0.85rem; opacity: 0.75; }
button { font: inherit; padding: 0.6rem 1.2rem; margin: 1rem 0.5rem 0 0; cursor: pointer; }
button.primary { background: #1d4f6e; color: #fff; border: 2px solid #1d4f6e; }
button:focus-visible, a:focus-visible, input:focus-visible, summary:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.error { border-left: 4px solid #c00; padding: 0.5rem 1rem; }
details { margin-top: 1.5rem; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 0.8rem; }
dt { font-weight: 600; margin-top: 0.5rem; }
dd { margin: 0; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid rgba(127,127,127,0.4); vertical-align: top; }
`;

const unescapeHtml = (s: string): string =>
  s.replace(/&(amp|lt|gt|quot|#39|#x27|apos);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", apos: "'" })[e]!);

/**
 * Reads an auto-post page (this simulator's, or an SP's): the form's action and its hidden fields. For
 * scripts and tests that post the SAML message on themselves.
 */
export function readAutoPostForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error('no form with an action in the page');
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input\b[^>]*>/gi)) {
    const tag = m[0];
    const name = /\bname="([^"]*)"/.exec(tag)?.[1];
    const value = /\bvalue="([^"]*)"/.exec(tag)?.[1];
    if (name !== undefined && /\btype="hidden"/i.test(tag)) fields[unescapeHtml(name)] = unescapeHtml(value ?? '');
  }
  return { action: unescapeHtml(form[1]!), fields };
}

/** The session key on a login page (also sent as the X-Simulator-Session header). */
export function readSessionKey(html: string): string | undefined {
  const m = /<input type="hidden" name="sessionKey" value="([^"]*)">/.exec(html);
  return m ? unescapeHtml(m[1]!) : undefined;
}
