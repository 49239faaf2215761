/**
 * Pages of the simulated Freja eID app. The hub serves them under a path prefix through a reverse proxy,
 * so every URL in them is relative. No script at all, no inline style: the CSP is `default-src 'self'`.
 */
import type { AppErrorCode, TransactionKind, TransactionStatus, TransactionSummary } from './engine.ts';
import type { FrejaPerson } from './persons.ts';

export const TITLE = 'Simulerad Freja eID-app (idnav dev)';

export const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const both = (sv: string, en: string): string => `${esc(sv)} <span lang="en" class="en">/ ${esc(en)}</span>`;

function layout(body: string): string {
  return `<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(TITLE)}</title>
<link rel="stylesheet" href="app.css">
</head>
<body>
<header><p class="brand">${esc(TITLE)}</p><p class="brand-en" lang="en">Simulated Freja eID app (idnav dev)</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}

const short = (ref: string): string => `${ref.slice(0, 10)}…`;

function transactionForm(tx: TransactionSummary, persons: FrejaPerson[], token: string, highlighted: boolean): string {
  const bound = tx.requiredPersonalNumber;
  const choices = bound !== undefined ? persons.filter((p) => p.personalNumber === bound) : persons;
  const options =
    choices.length > 0
      ? choices
          .map((p) => `<option value="${esc(p.personalNumber)}">${esc(p.name)} (${esc(p.personalNumber)}, ${esc(p.registrationLevel)})</option>`)
          .join('\n')
      : `<option value="${esc(bound ?? '')}">${both('Okänd användare', 'Unknown user')} (${esc(bound ?? '')})</option>`;
  const id = `p-${tx.authRef.slice(0, 12)}`;
  const sign = tx.sign;
  // What the person reads in the app before signing, and (for the developer) what is signed unseen.
  const signRows = sign
    ? `
<dt>${both('Titel', 'Title')}</dt><dd>${sign.title !== undefined ? esc(sign.title) : '—'}</dd>
<dt>${both('Text att skriva under', 'Text to sign')}</dt><dd><p class="sign-text">${esc(sign.text)}</p></dd>
<dt>${both('Data som signeras men inte visas', 'Data signed but not shown')}</dt><dd>${
        sign.binaryData ? `${sign.binaryData.bytes} byte, SHA-256 <code class="hash">${esc(sign.binaryData.sha256)}</code>` : '—'
      }</dd>`
    : '';
  return `<section class="tx${highlighted ? ' opened' : ''}" aria-labelledby="${id}-h">
<h3 id="${id}-h">${sign ? both('Underskrift', 'Signing') : both('Inloggning', 'Sign-in')} <code>${esc(short(tx.authRef))}</code></h3>
<dl>${signRows}
<dt>${both('Status', 'Status')}</dt><dd><code>${esc(tx.status)}</code></dd>
<dt>${both('Typ', 'Type')}</dt><dd><code>${esc(tx.userInfoType)}</code>${bound !== undefined ? ` — ${both('skickad till', 'sent to')} <code>${esc(bound)}</code>` : ''}</dd>
<dt>${both('Lägsta nivå', 'Minimum level')}</dt><dd><code>${esc(tx.minRegistrationLevel)}</code></dd>
<dt>${both('Efterfrågade uppgifter', 'Requested attributes')}</dt><dd><code>${esc(tx.attributesToReturn.join(', ') || '—')}</code></dd>
</dl>
<form method="post" action="approve">
<input type="hidden" name="transactionReference" value="${esc(tx.authRef)}">
<input type="hidden" name="token" value="${esc(token)}">
<label for="${id}">${both('Testperson', 'Test person')}</label>
<select id="${id}" name="personalNumber">
${options}
</select>
<div class="buttons">
<button type="submit" name="action" value="approve" class="primary">${sign ? both('Skriv under', 'Sign') : both('Godkänn', 'Approve')}</button>
<button type="submit" name="action" value="cancel">${both('Avbryt', 'Cancel')}</button>
<button type="submit" name="action" value="reject">${both('Avvisa (säkerhetsskäl)', 'Reject (security)')}</button>
</div>
</form>
</section>`;
}

export function homePage(o: {
  persons: FrejaPerson[];
  pending: TransactionSummary[];
  tokenFor: (authRef: string) => string;
  opened?: string;
  notice?: { sv: string; en: string; error?: boolean };
}): string {
  const opened = o.pending.find((t) => t.authRef === o.opened);
  const others = o.pending.filter((t) => t.authRef !== o.opened);
  const notice = o.notice
    ? `<p class="${o.notice.error ? 'error' : 'notice'}" role="${o.notice.error ? 'alert' : 'status'}">${both(o.notice.sv, o.notice.en)}</p>`
    : '';
  const openedSection = opened
    ? `<h1>${opened.kind === 'sign' ? both('Skriv under', 'Sign') : both('Legitimera dig', 'Identify yourself')}</h1>\n${transactionForm(opened, o.persons, o.tokenFor(opened.authRef), true)}`
    : `<h1>${both('Freja eID (simulerad)', 'Freja eID (simulated)')}</h1>`;
  const list =
    others.length > 0
      ? others.map((t) => transactionForm(t, o.persons, o.tokenFor(t.authRef), false)).join('\n')
      : `<p>${both('Inga andra väntande inloggningar eller underskrifter.', 'No other pending sign-ins or signings.')} <a href="./">${both('Uppdatera', 'Refresh')}</a></p>`;
  const rows = o.persons
    .map(
      (p) =>
        `<tr><td>${esc(p.name)}</td><td><code>${esc(p.personalNumber)}</code></td><td>${esc(p.registrationLevel)}${p.serviceDisabled ? ' (tjänst avstängd / service off)' : ''}</td><td>${esc(p.tags.join(', '))}</td></tr>`,
    )
    .join('\n');
  return layout(`${notice}
${openedSection}
<h2>${both('Väntande inloggningar och underskrifter', 'Pending sign-ins and signings')}</h2>
${list}
<h2>${both('Skanna QR-kod', 'Scan a QR code')}</h2>
<form method="get" action="./" class="scan">
<label for="qr">${both('QR-kodens innehåll (frejaeid://…)', 'QR code payload (frejaeid://…)')}</label>
<textarea id="qr" name="qr" rows="2" required autocomplete="off" autocapitalize="off" spellcheck="false"></textarea>
<button type="submit">${both('Skanna', 'Scan')}</button>
</form>
<h2>${both('Testpersoner', 'Test persons')}</h2>
<table>
<thead><tr><th scope="col">${both('Namn', 'Name')}</th><th scope="col">${both('Personnummer', 'Personal identity number')}</th><th scope="col">${both('Nivå', 'Level')}</th><th scope="col">${both('Egenskaper', 'Tags')}</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`);
}

const DONE: Partial<Record<TransactionStatus, { sv: string; en: string }>> = {
  APPROVED: { sv: 'Godkänt — gå tillbaka till webbläsaren.', en: 'Approved — go back to the browser.' },
  CANCELED: { sv: 'Avbrutet — gå tillbaka till webbläsaren.', en: 'Cancelled — go back to the browser.' },
  REJECTED: { sv: 'Avvisat av säkerhetsskäl.', en: 'Rejected for security reasons.' },
};

const SIGNED = { sv: 'Underskrivet — gå tillbaka till webbläsaren.', en: 'Signed — go back to the browser.' };

export function donePage(status: TransactionStatus, kind: TransactionKind = 'authentication'): string {
  const t = (kind === 'sign' && status === 'APPROVED' ? SIGNED : DONE[status]) ?? { sv: `Status: ${status}`, en: `Status: ${status}` };
  return layout(`<h1>${both(t.sv, t.en)}</h1>
<p><a href="./">${both('Tillbaka till appen', 'Back to the app')}</a></p>`);
}

const ERROR_TEXT: Record<AppErrorCode | 'tokenInvalid' | 'qrInvalid', { sv: string; en: string }> = {
  transactionNotFound: { sv: 'Hittade ingen sådan inloggning.', en: 'No such sign-in.' },
  transactionNotPending: { sv: 'Inloggningen är redan avslutad.', en: 'The sign-in has already ended.' },
  personNotFound: { sv: 'Personen har inget Freja eID.', en: 'This person has no Freja eID.' },
  personMismatch: { sv: 'Inloggningen skickades till en annan person.', en: 'The sign-in was sent to another person.' },
  registrationLevelTooLow: {
    sv: 'Tjänsten kräver en högre nivå (Freja eID+) än den här personen har.',
    en: 'The service requires a higher level (Freja eID+) than this person has.',
  },
  serviceDisabled: { sv: 'Personen har stängt av tjänsten i Freja eID.', en: 'This person has turned the service off in Freja eID.' },
  invalidRequest: { sv: 'Felaktig förfrågan.', en: 'Invalid request.' },
  tokenInvalid: { sv: 'Formuläret är ogiltigt. Ladda om sidan.', en: 'The form is not valid. Reload the page.' },
  qrInvalid: { sv: 'Det är inte en Freja eID-kod.', en: 'That is not a Freja eID code.' },
};

export const errorText = (code: keyof typeof ERROR_TEXT): { sv: string; en: string } => ERROR_TEXT[code];

export function errorPage(code: keyof typeof ERROR_TEXT): string {
  const t = ERROR_TEXT[code];
  return layout(`<h1>${both('Det gick inte', 'That did not work')}</h1>
<p class="error" role="alert">${both(t.sv, t.en)}</p>
<p><a href="./">${both('Tillbaka', 'Back')}</a></p>`);
}

export const APP_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; }
header { background: #3c2a6b; color: #fff; padding: 0.75rem 1rem; }
header p { margin: 0; }
.brand { font-weight: 700; }
main { max-width: 44rem; margin: 0 auto; padding: 1rem; }
.en { opacity: 0.75; font-weight: normal; }
label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
textarea, select { width: 100%; box-sizing: border-box; font: inherit; padding: 0.5rem; }
textarea { font-family: ui-monospace, monospace; }
button { font: inherit; padding: 0.6rem 1.2rem; margin: 1rem 0.5rem 0 0; cursor: pointer; }
button.primary { background: #3c2a6b; color: #fff; border: 2px solid #3c2a6b; }
button:focus-visible, a:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.tx { border: 1px solid rgba(127,127,127,0.5); padding: 0 1rem 1rem; margin: 1rem 0; }
.tx.opened { border: 3px solid #3c2a6b; }
.error { border-left: 4px solid #c00; padding: 0.5rem 1rem; }
.notice { border-left: 4px solid #2a7; padding: 0.5rem 1rem; }
dt { font-weight: 600; margin-top: 0.5rem; }
.sign-text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.25rem 0; padding: 0.5rem 0.75rem; border-left: 4px solid #3c2a6b; }
.hash { overflow-wrap: anywhere; }
dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid rgba(127,127,127,0.4); }
`;
