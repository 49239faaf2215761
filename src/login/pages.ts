/** The hub's pages: e-ID status, chooser, errors, consent, logout and the form_post response. */
import type { TenantConfig } from '../config/types.ts';
import type { PollingPageTexts } from '../contracts/eid.ts';
import type { Localized } from '../contracts/identity.ts';
import { esc, layout } from './html.ts';
import { T, type Lang } from './i18n.ts';

export interface PollingPageModel {
  lang: Lang;
  tenant: TenantConfig | undefined;
  clientName: string;
  langSwitchUrl: string;
  title: string;
  statusUrl: string;
  status: 'pending' | 'complete' | 'failed';
  message: string;
  /** The first QR frame as an image URL, drawn by the server; the page's script draws the later ones. */
  qrImage?: string | undefined;
  launchUrl?: string | undefined;
  cancelUrl: string;
  retryUrl?: string | undefined;
  nextUrl?: string | undefined;
  devAppUrl?: string | undefined;
  qr?: string | undefined;
  /** The method's name and wording. */
  methodName: Localized;
  texts: PollingPageTexts;
  /** Other methods to offer when this one cannot be used right now. */
  alternatives?: Array<{ id: string; name: string; url: string }> | undefined;
}

function alternativesHtml(lang: Lang, alternatives: Array<{ id: string; name: string; url: string }> | undefined): string {
  if (!alternatives?.length) return '';
  return `<p>${esc(T.otherMethods[lang])}</p><ul class="methods alternatives">${alternatives
    .map((a) => `<li><a class="button" href="${esc(a.url)}" data-method="${esc(a.id)}">${esc(a.name)}</a></li>`)
    .join('')}</ul>`;
}

export function pollingPage(m: PollingPageModel): string {
  const failed = m.status === 'failed';
  const body = `
<div data-status-url="${esc(m.statusUrl)}">
<h1>${esc(m.title)}</h1>
<p class="client">${esc(T.signInTo[m.lang])} ${esc(m.clientName)}</p>
<div id="pending" class="${failed ? 'hidden' : ''}">
  ${m.qrImage ? `<img id="qr" class="qr" src="${esc(m.qrImage)}"${m.qr ? ` data-qr="${esc(m.qr)}"` : ''} alt="${esc(m.texts.qrAlt[m.lang])}" width="220" height="220">` : ''}
  <p class="small">${esc(m.texts.qrHelp[m.lang])}</p>
</div>
<div class="status${failed ? ' failed' : ''}" role="status" aria-live="polite"><span id="message">${esc(m.message)}</span></div>
<div class="actions">
  <div id="pending-actions" class="${failed ? 'hidden' : ''}">
    ${m.launchUrl ? `<a class="button" id="launch" href="${esc(m.launchUrl)}">${esc(m.texts.openThisDevice[m.lang])}</a>` : ''}
  </div>
  <div id="failed" class="${failed ? '' : 'hidden'}">
    <form id="retry-form" method="post" action="${esc(m.retryUrl ?? '')}"><button type="submit">${esc(T.tryAgain[m.lang])}</button></form>
    <div id="alternatives" data-label="${esc(T.otherMethods[m.lang])}">${alternativesHtml(m.lang, m.alternatives)}</div>
  </div>
  <form method="post" action="${esc(m.cancelUrl)}"><button type="submit" class="secondary">${esc(T.cancel[m.lang])}</button></form>
</div>
${m.devAppUrl ? `<div class="dev"><a id="dev-app-link" data-base="${esc(m.devAppUrl)}" href="${esc(m.devAppUrl)}${m.qr ? `?qr=${esc(encodeURIComponent(m.qr))}` : ''}" target="_blank" rel="noopener">${esc(m.lang === 'sv' ? `Simulerad ${m.methodName.sv}-app (utvecklingsläge)` : `Simulated ${m.methodName.en} app (dev mode)`)}</a></div>` : ''}
<noscript><p class="small">${esc(T.noScript[m.lang])}</p></noscript>
</div>`;
  return layout({
    lang: m.lang,
    title: m.title,
    tenant: m.tenant,
    langSwitchUrl: m.langSwitchUrl,
    script: true,
    head: failed ? '' : '<noscript><meta http-equiv="refresh" content="3"></noscript>',
    body,
  });
}

export interface ChooserModel {
  lang: Lang;
  tenant: TenantConfig | undefined;
  clientName: string;
  langSwitchUrl: string;
  methods: Array<{ id: string; name: string; url: string }>;
  cancelUrl: string;
  csrf: string;
}

export function chooserPage(m: ChooserModel): string {
  const items = m.methods
    .map(
      (x) => `<li><form method="post" action="${esc(x.url)}"><input type="hidden" name="csrf" value="${esc(m.csrf)}"><button type="submit">${esc(x.name)}</button></form></li>`,
    )
    .join('\n');
  return layout({
    lang: m.lang,
    title: T.signIn[m.lang],
    tenant: m.tenant,
    langSwitchUrl: m.langSwitchUrl,
    body: `<h1>${esc(T.chooseMethod[m.lang])}</h1>
<p class="client">${esc(T.signInTo[m.lang])} ${esc(m.clientName)}</p>
<ul class="methods">${items}</ul>
<form method="post" action="${esc(m.cancelUrl)}"><button type="submit" class="secondary">${esc(T.cancel[m.lang])}</button></form>`,
  });
}

export interface ErrorModel {
  lang: Lang;
  tenant?: TenantConfig | undefined;
  message: Localized | string;
  code?: string | undefined;
  /** A way back: the RP (through an access_denied answer) or the start page. */
  back?: { url: string; label: string; post?: boolean } | undefined;
  /** A way to try again (a link), shown first. */
  retry?: { url: string; label: string } | undefined;
}

export function errorPage(m: ErrorModel): string {
  const message = typeof m.message === 'string' ? m.message : m.message[m.lang];
  const back = m.back
    ? m.back.post
      ? `<form method="post" action="${esc(m.back.url)}"><button type="submit">${esc(m.back.label)}</button></form>`
      : `<a class="button" href="${esc(m.back.url)}">${esc(m.back.label)}</a>`
    : '';
  return layout({
    lang: m.lang,
    title: T.errorTitle[m.lang],
    tenant: m.tenant,
    body: `<h1>${esc(T.errorTitle[m.lang])}</h1>
<p class="status failed" role="alert">${esc(message)}</p>
${m.code ? `<p class="small">${esc(T.errorCode[m.lang])}: <code>${esc(m.code)}</code></p>` : ''}
<div class="actions">${m.retry ? `<a class="button" id="retry" href="${esc(m.retry.url)}">${esc(m.retry.label)}</a>` : ''}${back}</div>`,
  });
}

export function consentPage(m: { lang: Lang; tenant: TenantConfig | undefined; clientName: string; items: string[]; action: string; csrf: string; cancelUrl: string }): string {
  return layout({
    lang: m.lang,
    title: T.consentTitle[m.lang],
    tenant: m.tenant,
    body: `<h1>${esc(T.consentTitle[m.lang])}</h1>
<p>${esc(m.clientName)}: ${esc(T.consentText[m.lang])}</p>
<ul>${m.items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>
<div class="actions">
<form method="post" action="${esc(m.action)}"><input type="hidden" name="csrf" value="${esc(m.csrf)}"><button type="submit">${esc(T.approve[m.lang])}</button></form>
<form method="post" action="${esc(m.cancelUrl)}"><button type="submit" class="secondary">${esc(T.deny[m.lang])}</button></form>
</div>`,
  });
}

export function logoutPage(m: { lang: Lang; tenant?: TenantConfig | undefined; form: string }): string {
  return layout({
    lang: m.lang,
    title: T.logoutTitle[m.lang],
    tenant: m.tenant,
    body: `<h1>${esc(T.logoutTitle[m.lang])}</h1>
<p>${esc(T.logoutQuestion[m.lang])}</p>
${m.form}
<div class="actions">
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">${esc(T.logoutYes[m.lang])}</button>
<button type="submit" class="secondary" form="op.logoutForm">${esc(T.logoutNo[m.lang])}</button>
</div>`,
  });
}

export function logoutSuccessPage(m: { lang: Lang; clientName?: string | undefined }): string {
  return layout({
    lang: m.lang,
    title: T.logoutTitle[m.lang],
    body: `<h1>${esc(T.loggedOut[m.lang])}</h1>${m.clientName ? `<p>${esc(T.loggedOutFrom[m.lang])} ${esc(m.clientName)}.</p>` : ''}`,
  });
}

export function formPostPage(m: { lang: Lang; action: string; inputs: Record<string, string> }): string {
  const inputs = Object.entries(m.inputs)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="${m.lang}"><head><meta charset="utf-8"><title>${esc(T.redirecting[m.lang])}</title>
<link rel="stylesheet" href="/assets/idnav.css"><script src="/assets/autosubmit.js"></script></head>
<body><main class="card"><form method="post" action="${esc(m.action)}">${inputs}
<p>${esc(T.redirecting[m.lang])}</p><button type="submit">${esc(T.continue[m.lang])}</button></form></main></body></html>`;
}
