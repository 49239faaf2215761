/**
 * BankID's recommended user messages (RFA) in Swedish and English, and the mapping from hint codes and
 * error codes to them (BankID RP API v6.0, "Recommended user messages"). Unknown pending hints fall back
 * to RFA21 and unknown failures to RFA22, as BankID recommends.
 */
import type { HubErrorCode } from '../../src/contracts/errors.ts';
import type { DeviceChoice } from '../../src/contracts/eid.ts';
import type { Localized } from '../../src/contracts/identity.ts';

export const RFA = {
  RFA1: { sv: 'Starta BankID-appen.', en: 'Start your BankID app.' },
  RFA2: { sv: 'Du har inte BankID-appen installerad. Kontakta din internetbank.', en: 'The BankID app is not installed. Please contact your internet bank.' },
  RFA3: { sv: 'Åtgärden avbruten. Försök igen.', en: 'Action cancelled. Please try again.' },
  RFA4: {
    sv: 'En identifiering eller underskrift för det här personnumret är redan påbörjad. Försök igen.',
    en: 'An identification or signing for this personal number is already started. Please try again.',
  },
  RFA5: { sv: 'Internt tekniskt fel. Försök igen.', en: 'Internal error. Please try again.' },
  RFA6: { sv: 'Åtgärden avbruten.', en: 'Action cancelled.' },
  RFA8: {
    sv: 'BankID-appen svarar inte. Kontrollera att den är startad och att du har internetanslutning. Om du inte har något giltigt BankID kan du skaffa ett hos din bank. Försök sedan igen.',
    en: "The BankID app is not responding. Please check that it's started and that you have internet access. If you don't have a valid BankID you can get one from your bank. Try again.",
  },
  RFA9: { sv: 'Skriv in din säkerhetskod i BankID-appen och välj Identifiera.', en: 'Enter your security code in the BankID app and select Identify.' },
  RFA13: { sv: 'Försöker starta BankID-appen.', en: 'Trying to start your BankID app.' },
  RFA15A: {
    sv: 'Söker efter BankID, det kan ta en liten stund … Om det har gått några sekunder och inget BankID har hittats har du sannolikt inget BankID som går att använda för den aktuella identifieringen i den här datorn. Om du har ett BankID-kort, sätt in det i kortläsaren. Om du inte har något BankID kan du skaffa ett hos din bank.',
    en: "Searching for BankID, it may take a little while … If a few seconds have passed and still no BankID has been found, you probably don't have a BankID which can be used for this identification on this computer. If you have a BankID card, please insert it into your card reader. If you don't have a BankID you can get one from your bank.",
  },
  RFA15B: {
    sv: 'Söker efter BankID, det kan ta en liten stund … Om det har gått några sekunder och inget BankID har hittats har du sannolikt inget BankID som går att använda för den aktuella identifieringen i den här enheten. Om du inte har något BankID kan du skaffa ett hos din bank.',
    en: "Searching for BankID, it may take a little while … If a few seconds have passed and still no BankID has been found, you probably don't have a BankID which can be used for this identification on this device. If you don't have a BankID you can get one from your bank.",
  },
  RFA16: {
    sv: 'Det BankID du försöker använda är för gammalt eller spärrat. Använd ett annat BankID eller skaffa ett nytt hos din bank.',
    en: 'The BankID you are trying to use is blocked or too old. Please use another BankID or get a new one from your bank.',
  },
  RFA17A: {
    sv: 'BankID-appen verkar inte finnas i din dator eller telefon. Installera den och skaffa ett BankID hos din bank. Installera appen från din appbutik eller https://install.bankid.com.',
    en: "The BankID app couldn't be found on your computer or mobile device. Please install it and get a BankID from your bank. Install the app from your app store or https://install.bankid.com.",
  },
  RFA17B: {
    sv: 'Misslyckades att läsa av QR-koden. Starta BankID-appen och läs av QR-koden. Kontrollera att BankID-appen är uppdaterad. Om du inte har BankID-appen måste du installera den och skaffa ett BankID hos din bank.',
    en: "Failed to scan the QR code. Start the BankID app and scan the QR code. Check that the BankID app is up to date. If you don't have the BankID app, you need to install it and get a BankID from your bank.",
  },
  RFA18: { sv: 'Starta BankID-appen', en: 'Start the BankID app' },
  RFA20: {
    sv: 'Vill du identifiera dig med ett BankID på den här enheten eller med ett BankID på en annan enhet?',
    en: 'Do you want to identify yourself using a BankID on this device or a BankID on another device?',
  },
  RFA21: { sv: 'Identifiering pågår.', en: 'Identification in progress.' },
  RFA22: { sv: 'Okänt fel. Försök igen.', en: 'Unknown error. Please try again.' },
  RFA23: { sv: 'Fotografera och läs av din ID-handling med BankID-appen.', en: 'Process your machine-readable travel document using the BankID app.' },
} as const satisfies Record<string, Localized>;

/**
 * The RFA texts whose wording differs for a signing order: BankID words them "identification/signing",
 * and the app's button is Skriv under (Sign) instead of Identifiera (Identify).
 */
export const RFA_SIGN = {
  RFA9: { sv: 'Skriv in din säkerhetskod i BankID-appen och välj Skriv under.', en: 'Enter your security code in the BankID app and select Sign.' },
  RFA15A: {
    sv: 'Söker efter BankID, det kan ta en liten stund … Om det har gått några sekunder och inget BankID har hittats har du sannolikt inget BankID som går att använda för den aktuella underskriften i den här datorn. Om du har ett BankID-kort, sätt in det i kortläsaren. Om du inte har något BankID kan du skaffa ett hos din bank.',
    en: "Searching for BankID, it may take a little while … If a few seconds have passed and still no BankID has been found, you probably don't have a BankID which can be used for this signing on this computer. If you have a BankID card, please insert it into your card reader. If you don't have a BankID you can get one from your bank.",
  },
  RFA15B: {
    sv: 'Söker efter BankID, det kan ta en liten stund … Om det har gått några sekunder och inget BankID har hittats har du sannolikt inget BankID som går att använda för den aktuella underskriften i den här enheten. Om du inte har något BankID kan du skaffa ett hos din bank.',
    en: "Searching for BankID, it may take a little while … If a few seconds have passed and still no BankID has been found, you probably don't have a BankID which can be used for this signing on this device. If you don't have a BankID you can get one from your bank.",
  },
  RFA21: { sv: 'Underskrift pågår.', en: 'Signing in progress.' },
} as const satisfies Record<string, Localized>;

/** What an order does: `auth` identifies the person (`/auth`), `sign` has them sign a text (`/sign`). */
export type OrderPurpose = 'auth' | 'sign';

/** Not an RFA: the hub refused to send BankID a signing order that BankID would refuse. */
export const SIGN_REQUEST_REFUSED: Localized = {
  sv: 'Underskriften kunde inte startas: det som ska skrivas under saknas eller är för långt. Kontakta tjänsten du kom ifrån.',
  en: 'The signing could not be started: what is to be signed is missing or too long. Please contact the service you came from.',
};

/** Not an RFA: BankID gives no recommended text for an app that is too old for the order. */
const UPDATE_APP: Localized = {
  sv: 'Din BankID-app behöver uppdateras. Uppdatera appen och försök igen.',
  en: 'Your BankID app needs to be updated. Please update the app and try again.',
};

export function pendingMessage(hintCode: string, device: DeviceChoice, mobile: boolean, purpose: OrderPurpose = 'auth'): Localized {
  const texts = purpose === 'sign' ? RFA_SIGN : RFA;
  switch (hintCode) {
    case 'outstandingTransaction':
      return device === 'this' ? RFA.RFA13 : RFA.RFA1;
    case 'noClient':
      return RFA.RFA1;
    case 'started':
      return mobile ? texts.RFA15B : texts.RFA15A;
    case 'userSign':
      return texts.RFA9;
    case 'userMrtd':
      return RFA.RFA23;
    default:
      return texts.RFA21;
  }
}

export function failedOutcome(hintCode: string, device: DeviceChoice): { code: HubErrorCode; message: Localized } {
  switch (hintCode) {
    case 'expiredTransaction':
      return { code: 'EID_EXPIRED', message: RFA.RFA8 };
    case 'certificateErr':
      return { code: 'EID_CERTIFICATE_INVALID', message: RFA.RFA16 };
    case 'userCancel':
      return { code: 'EID_USER_CANCELLED', message: RFA.RFA6 };
    case 'cancelled':
      return { code: 'EID_FAILED', message: RFA.RFA3 };
    case 'startFailed':
      return { code: 'EID_START_FAILED', message: device === 'this' ? RFA.RFA17A : RFA.RFA17B };
    case 'userDeclinedCall':
      return { code: 'EID_USER_CANCELLED', message: RFA.RFA6 };
    case 'notSupportedByUserApp':
      return { code: 'EID_UNSUPPORTED', message: UPDATE_APP };
    case 'transactionRiskBlocked':
      return { code: 'EID_RISK_BLOCKED', message: RFA.RFA22 };
    default:
      return { code: 'EID_FAILED', message: RFA.RFA22 };
  }
}

/** BankID error codes (an HTTP error answer) to a hub error code and user message. */
export function errorOutcome(httpStatus: number, errorCode: string | undefined): { code: HubErrorCode; message: Localized } {
  if (httpStatus === 429) return { code: 'EID_UPSTREAM_RATE_LIMITED', message: RFA.RFA5 };
  switch (errorCode) {
    case 'alreadyInProgress':
      return { code: 'EID_ALREADY_IN_PROGRESS', message: RFA.RFA4 };
    case 'requestTimeout':
    case 'internalError':
    case 'maintenance':
    case 'Maintenance':
      return { code: 'EID_UPSTREAM_UNAVAILABLE', message: RFA.RFA5 };
    // Faults of the integration itself: never shown as a BankID error and never retried as-is.
    case 'invalidParameters':
    case 'unauthorized':
    case 'notFound':
    case 'methodNotAllowed':
    case 'unsupportedMediaType':
      return { code: 'EID_RESPONSE_INVALID', message: RFA.RFA5 };
    default:
      if (httpStatus >= 500) return { code: 'EID_UPSTREAM_UNAVAILABLE', message: RFA.RFA5 };
      return { code: 'EID_FAILED', message: RFA.RFA22 };
  }
}

/** BankID's wording on the hub's e-ID page (the terms BankID asks relying parties to use). */
export const BANKID_PAGE_TEXTS = {
  qrHelp: {
    sv: 'Starta BankID-appen i din mobil eller surfplatta och tryck på QR-ikonen. Skanna sedan QR-koden.',
    en: 'Start the BankID app on your phone or tablet and tap the QR icon. Then scan the QR code.',
  },
  qrAlt: { sv: 'QR-kod för BankID. Koden byts varje sekund.', en: 'QR code for BankID. The code changes every second.' },
  openThisDevice: { sv: 'Öppna BankID på den här enheten', en: 'Open BankID on this device' },
} as const;
