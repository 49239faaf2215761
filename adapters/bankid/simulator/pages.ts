/**
 * Pages of the simulated BankID app. The hub serves them under a path prefix through a reverse proxy,
 * so every URL in them is relative. No inline script or style: the CSP is `default-src 'self'`.
 */
import type { AppErrorCode, OpenedOrder } from './engine.ts';
import type { TestPerson } from './persons.ts';

export const TITLE = 'Simulerad BankID-app (idnav dev)';

export const CSP = "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'";

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function layout(body: string): string {
  return `<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(TITLE)}</title>
<link rel="stylesheet" href="app.css">
<script src="app.js" defer></script>
</head>
<body>
<header><p class="brand">${esc(TITLE)}</p><p class="brand-en" lang="en">Simulated BankID app (idnav dev)</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}

const both = (sv: string, en: string): string => `${esc(sv)} <span lang="en" class="en">/ ${esc(en)}</span>`;

export function homePage(persons: TestPerson[], qrMaxAgeMs: number): string {
  const seconds = Math.round(qrMaxAgeMs / 1000);
  const rows = persons
    .map(
      (p) =>
        `<tr><td>${esc(p.name)}</td><td><code>${esc(p.personalNumber)}</code></td><td>${esc(p.tags.join(', '))}</td></tr>`,
    )
    .join('\n');
  return layout(`<h1>${both('Läs av QR-kod', 'Scan a QR code')}</h1>
<p>${both(
    'Klistra in QR-kodens innehåll (texten som börjar med "bankid."), som den visas just nu.',
    'Paste the QR code payload (the text starting with "bankid."), as it is shown right now.',
  )}</p>
<p>${both(`Koden godtas bara i ${seconds} sekunder.`, `A code is accepted for ${seconds} seconds only.`)}</p>
<form method="get" action="./" class="scan">
<label for="qr">${both('QR-kodens innehåll', 'QR code payload')}</label>
<textarea id="qr" name="qr" rows="3" required autocomplete="off" autocapitalize="off" spellcheck="false"></textarea>
<button type="submit">${both('Läs av', 'Scan')}</button>
</form>
<h2>${both('Testpersoner', 'Test persons')}</h2>
<table>
<thead><tr><th scope="col">${both('Namn', 'Name')}</th><th scope="col">${both('Personnummer', 'Personal identity number')}</th><th scope="col">${both('Egenskaper', 'Tags')}</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`);
}

export function orderPage(o: {
  order: OpenedOrder;
  session: string;
  persons: TestPerson[];
  error?: { sv: string; en: string };
}): string {
  const { order } = o;
  const isSign = order.kind === 'sign' || order.kind === 'phone/sign';
  const selected = order.requiredPersonalNumber;
  const persons = [...o.persons];
  if (selected !== undefined && !persons.some((p) => p.personalNumber === selected)) {
    persons.unshift({ personalNumber: selected, givenName: 'Test', surname: 'Person', name: 'Test Person', tags: [] });
  }
  const options = persons
    .map(
      (p) =>
        `<option value="${esc(p.personalNumber)}"${p.personalNumber === selected ? ' selected' : ''}>${esc(p.name)} (${esc(p.personalNumber)})</option>`,
    )
    .join('\n');
  const textLabel = isSign ? both('Text att skriva under (userVisibleData)', 'Text to sign (userVisibleData)') : both('Text från tjänsten', 'Text from the service');
  const format =
    order.userVisibleDataFormat !== undefined
      ? `<dt>Format (userVisibleDataFormat)</dt><dd><code>${esc(order.userVisibleDataFormat)}</code> ${both('(visas här som källtext)', '(shown here as source)')}</dd>`
      : '';
  const text = order.userVisibleText !== undefined ? `<dt>${textLabel}</dt><dd><pre>${esc(order.userVisibleText)}</pre></dd>${format}` : '';
  const required =
    selected !== undefined ? `<dt>${both('Endast för', 'Only for')}</dt><dd><code>${esc(selected)}</code></dd>` : '';
  const error = o.error ? `<p class="error" role="alert">${both(o.error.sv, o.error.en)}</p>` : '';
  return layout(`<h1>${isSign ? both('Skriv under', 'Sign') : both('Legitimera dig', 'Identify yourself')}</h1>
${error}
<dl>
<dt>${both('Startad via', 'Started by')}</dt><dd>${order.via === 'qr' ? both('QR-kod', 'QR code') : both('denna enhet (autostart)', 'this device (autostart)')}</dd>
<dt>${both('Tjänstens uppgivna IP-adress för dig (endUserIp)', 'Your IP address as the service states it (endUserIp)')}</dt><dd><code>${esc(order.endUserIp)}</code></dd>
${required}
${text}
</dl>
<form method="post" action="approve">
<input type="hidden" name="session" value="${esc(o.session)}">
<label for="person">${both('Testperson', 'Test person')}</label>
<select id="person" name="personalNumber">
${options}
</select>
<div class="buttons">
<button type="submit" name="action" value="approve" class="primary">${isSign ? both('Skriv under', 'Sign') : both('Legitimera', 'Identify')}</button>
<button type="submit" name="action" value="cancel">${both('Avbryt', 'Cancel')}</button>
</div>
</form>`);
}

export function donePage(cancelled: boolean, back?: string): string {
  const link = back ? `<p><a href="${esc(back)}">${both('Tillbaka till tjänsten', 'Back to the service')}</a></p>` : '';
  return layout(`<h1>${cancelled ? both('Avbrutet — gå tillbaka till webbläsaren', 'Cancelled — go back to the browser') : both('Klart — gå tillbaka till webbläsaren', 'Done — go back to the browser')}</h1>
${link}
<p><a href="./">${both('Läs av en ny kod', 'Scan another code')}</a></p>`);
}

const ERROR_TEXT: Record<AppErrorCode, { sv: string; en: string }> = {
  qrInvalid: { sv: 'QR-koden är ogiltig.', en: 'The QR code is not valid.' },
  qrExpired: {
    sv: 'QR-koden är för gammal. Läs av koden som visas just nu.',
    en: 'The QR code is too old. Scan the code shown right now.',
  },
  orderNotFound: { sv: 'Hittade ingen pågående beställning.', en: 'No such order.' },
  orderNotPending: { sv: 'Beställningen är redan avslutad.', en: 'The order has already ended.' },
  personMismatch: {
    sv: 'Tjänsten har begärt en annan person. Välj rätt testperson.',
    en: 'The service asked for another person. Choose the right test person.',
  },
  invalidRequest: { sv: 'Felaktig förfrågan.', en: 'Invalid request.' },
  sessionInvalid: {
    sv: 'Sidan är för gammal eller redan använd. Läs av koden igen.',
    en: 'This page is too old or was already used. Scan the code again.',
  },
};

export const errorText = (code: AppErrorCode): { sv: string; en: string } => ERROR_TEXT[code];

export function errorPage(code: AppErrorCode): string {
  const t = ERROR_TEXT[code];
  return layout(`<h1>${both('Det gick inte', 'That did not work')}</h1>
<p class="error" role="alert">${both(t.sv, t.en)}</p>
<p><a href="./">${both('Tillbaka', 'Back')}</a></p>`);
}

export const APP_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; }
header { background: #193e4f; color: #fff; padding: 0.75rem 1rem; }
header p { margin: 0; }
.brand { font-weight: 700; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
.en { opacity: 0.75; font-weight: normal; }
label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
textarea, select { width: 100%; box-sizing: border-box; font: inherit; padding: 0.5rem; }
textarea { font-family: ui-monospace, monospace; }
button { font: inherit; padding: 0.6rem 1.2rem; margin: 1rem 0.5rem 0 0; cursor: pointer; }
button.primary { background: #193e4f; color: #fff; border: 2px solid #193e4f; }
button:focus-visible, a:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.error { border-left: 4px solid #c00; padding: 0.5rem 1rem; }
dt { font-weight: 600; margin-top: 0.5rem; }
dd { margin: 0; }
pre { white-space: pre-wrap; word-break: break-word; background: rgba(127,127,127,0.12); padding: 0.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid rgba(127,127,127,0.4); }
`;

/** Guards against a double submission of a decision (the session token is one-time). */
export const APP_JS = `document.addEventListener('submit', function (event) {
  var form = event.target;
  if (form.getAttribute('data-sent') === '1') { event.preventDefault(); return; }
  form.setAttribute('data-sent', '1');
});
`;
