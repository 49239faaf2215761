/** Server-rendered HTML: one layout, no external assets, no inline script or style (strict CSP). */
import type { TenantConfig } from '../config/types.ts';
import { T, type Lang } from './i18n.ts';

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export interface LayoutOptions {
  lang: Lang;
  title: string;
  tenant?: TenantConfig | undefined;
  /** URL of this page with the other language selected; omitted hides the switch. */
  langSwitchUrl?: string;
  /** Loads the e-ID page's scripts: the QR encoder, then login.js (which uses it). */
  script?: boolean;
  /** Extra head markup (trusted, already escaped). */
  head?: string;
  body: string;
}

export function layout(o: LayoutOptions): string {
  const tenant = o.tenant;
  const logo = tenant
    ? tenant.branding.logoFile
      ? `<img class="logo" src="/assets/tenant/${esc(tenant.id)}/logo" alt="${esc(tenant.name[o.lang])}">`
      : `<span class="logo-text">${esc(tenant.branding.logoText)}</span>`
    : '<span class="logo-text">idnav</span>';
  const tenantCss = tenant ? `<link rel="stylesheet" href="/assets/tenant/${esc(tenant.id)}.css">` : '';
  const switcher = o.langSwitchUrl
    ? `<a class="lang" href="${esc(o.langSwitchUrl)}" lang="${o.lang === 'sv' ? 'en' : 'sv'}">${esc(T.language[o.lang])}</a>`
    : '';
  return `<!DOCTYPE html>
<html lang="${o.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)}${tenant ? ` – ${esc(tenant.name[o.lang])}` : ''}</title>
<link rel="stylesheet" href="/assets/idnav.css">
${tenantCss}${o.head ?? ''}
${o.script ? '<script src="/assets/qr.js" defer></script>\n<script src="/assets/login.js" defer></script>' : ''}
</head>
<body>
<header class="top">${logo}${tenant && tenant.branding.logoText !== tenant.name[o.lang] ? `<span class="tenant-name">${esc(tenant.name[o.lang])}</span>` : ''}${switcher}</header>
<main id="main" class="card">
${o.body}
</main>
</body>
</html>`;
}

export function tenantCss(tenant: TenantConfig): string {
  const color = (c: string) => (/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(c) ? c : '#1f4e79');
  return `:root{--primary:${color(tenant.branding.primaryColor)};--accent:${color(tenant.branding.accentColor)}}\n`;
}
