/** BankID's animated QR code: `bankid.<qrStartToken>.<qrTime>.<qrAuthCode>` (RP API v6.0). */
import { createHmac } from 'node:crypto';

/** qrAuthCode = hex HMAC-SHA256 keyed with the qrStartSecret string over the decimal qrTime string. */
export function qrAuthCode(qrStartSecret: string, qrTime: number): string {
  return createHmac('sha256', qrStartSecret).update(String(qrTime)).digest('hex');
}

/** The QR payload to show `nowMs`, given when the order was created. */
export function qrPayload(qrStartToken: string, qrStartSecret: string, startedAtMs: number, nowMs: number): string {
  const qrTime = Math.max(0, Math.floor((nowMs - startedAtMs) / 1000));
  return `bankid.${qrStartToken}.${qrTime}.${qrAuthCode(qrStartSecret, qrTime)}`;
}
