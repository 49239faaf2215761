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
  otherMethods: { sv: 'Logga in på ett annat sätt:', en: 'Sign in another way:' },
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
  errorCode: { sv: 'Felkod', en: 'Error code' },
} satisfies Record<string, Localized>;

export function t(lang: Lang, text: Localized): string {
  return text[lang];
}

/** The e-ID page's wording for a method without its own (`PollingEidAdapter.pageTexts`). */
export function genericPageTexts(name: Localized): { qrHelp: Localized; qrAlt: Localized; openThisDevice: Localized } {
  return {
    qrHelp: { sv: `Starta ${name.sv}-appen i din mobil och skanna QR-koden.`, en: `Start the ${name.en} app on your phone and scan the QR code.` },
    qrAlt: { sv: `QR-kod för ${name.sv}.`, en: `QR code for ${name.en}.` },
    openThisDevice: { sv: `Öppna ${name.sv} på den här enheten`, en: `Open ${name.en} on this device` },
  };
}
