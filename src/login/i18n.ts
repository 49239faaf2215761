/** The login pages' texts. Swedish is the default; English via `ui_locales` or the language switch. */
import type { Localized } from '../contracts/identity.ts';

export type Lang = 'sv' | 'en';

export function pickLang(uiLocales: unknown, cookie: string | undefined, query: string | null): Lang {
  if (query === 'sv' || query === 'en') return query;
  if (cookie === 'sv' || cookie === 'en') return cookie;
  if (typeof uiLocales === 'string') {
    for (const tag of uiLocales.split(/\s+/)) {
      const base = tag.toLowerCase().split('-')[0];
      if (base === 'sv' || base === 'en') return base;
    }
  }
  return 'sv';
}

export const T = {
  signIn: { sv: 'Logga in', en: 'Sign in' },
  signInTo: { sv: 'Logga in till', en: 'Sign in to' },
  chooseMethod: { sv: 'Välj hur du vill logga in', en: 'Choose how to sign in' },
  bankidTitle: { sv: 'Logga in med BankID', en: 'Sign in with BankID' },
  qrHelp: {
    sv: 'Starta BankID-appen i din mobil eller surfplatta och tryck på QR-ikonen. Skanna sedan QR-koden.',
    en: 'Start the BankID app on your phone or tablet and tap the QR icon. Then scan the QR code.',
  },
  qrAlt: { sv: 'QR-kod för BankID. Koden byts varje sekund.', en: 'QR code for BankID. The code changes every second.' },
  openThisDevice: { sv: 'Öppna BankID på den här enheten', en: 'Open BankID on this device' },
  otherDevice: { sv: 'Mobilt BankID på en annan enhet', en: 'Mobile BankID on another device' },
  cancel: { sv: 'Avbryt', en: 'Cancel' },
  tryAgain: { sv: 'Försök igen', en: 'Try again' },
  backTo: { sv: 'Tillbaka till', en: 'Back to' },
  back: { sv: 'Tillbaka', en: 'Back' },
  language: { sv: 'In English', en: 'På svenska' },
  noScript: {
    sv: 'Sidan uppdateras automatiskt var tredje sekund.',
    en: 'The page refreshes automatically every three seconds.',
  },
  continue: { sv: 'Fortsätt', en: 'Continue' },
  signedIn: { sv: 'Du är inloggad.', en: 'You are signed in.' },
  errorTitle: { sv: 'Något gick fel', en: 'Something went wrong' },
  logoutTitle: { sv: 'Logga ut', en: 'Sign out' },
  logoutQuestion: { sv: 'Vill du logga ut från alla tjänster du har loggat in på?', en: 'Do you want to sign out of every service you have signed in to?' },
  logoutYes: { sv: 'Ja, logga ut', en: 'Yes, sign me out' },
  logoutNo: { sv: 'Nej, förbli inloggad', en: 'No, stay signed in' },
  loggedOut: { sv: 'Du är utloggad.', en: 'You are signed out.' },
  loggedOutFrom: { sv: 'Du har loggat ut från', en: 'You have signed out of' },
  consentTitle: { sv: 'Godkänn att uppgifter lämnas ut', en: 'Approve sharing of information' },
  consentText: { sv: 'Tjänsten vill ta del av följande uppgifter om dig:', en: 'The service asks for the following information about you:' },
  approve: { sv: 'Godkänn', en: 'Approve' },
  deny: { sv: 'Neka', en: 'Deny' },
  redirecting: { sv: 'Skickar dig vidare …', en: 'Redirecting …' },
  devApp: { sv: 'Simulerad BankID-app (utvecklingsläge)', en: 'Simulated BankID app (dev mode)' },
  errorCode: { sv: 'Felkod', en: 'Error code' },
} satisfies Record<string, Localized>;

export function t(lang: Lang, text: Localized): string {
  return text[lang];
}
