/**
 * The animated QR code of BankID RP API v6.0, from the app's side:
 * payload `bankid.<qrStartToken>.<qrTime>.<qrAuthCode>` where qrAuthCode is the lowercase hex
 * HMAC-SHA256 keyed with the qrStartSecret's UTF-8 bytes over the decimal qrTime string.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ParsedQr {
  qrStartToken: string;
  qrTime: number;
  qrAuthCode: string;
}

export type QrVerdict = 'ok' | 'qrInvalid' | 'qrExpired';

export function qrAuthCode(qrStartSecret: string, qrTime: number | string): string {
  return createHmac('sha256', Buffer.from(qrStartSecret, 'utf8')).update(String(qrTime), 'ascii').digest('hex');
}

/** The payload an RP displays `qrTime` whole seconds after its order was created. */
export function qrPayload(qrStartToken: string, qrStartSecret: string, qrTime: number): string {
  return `bankid.${qrStartToken}.${qrTime}.${qrAuthCode(qrStartSecret, qrTime)}`;
}

const PAYLOAD = /^bankid\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(0|[1-9][0-9]{0,8})\.([0-9a-f]{64})$/;

/** Strict parse: the literal prefix, a UUID token, an unpadded decimal time and 64 lowercase hex digits. */
export function parseQrPayload(payload: string): ParsedQr | undefined {
  const m = PAYLOAD.exec(payload.trim());
  if (!m) return undefined;
  return { qrStartToken: m[1]!, qrTime: Number(m[2]), qrAuthCode: m[3]! };
}

export interface QrCheckInput {
  qrStartSecret: string;
  /** Epoch ms when the order was created: the QR clock's zero. */
  createdAt: number;
  now: number;
  /** Oldest code accepted, in ms before `now`. */
  maxAgeMs: number;
  /** Tolerance for a code claiming a time after `now` (clock skew, rounding). */
  maxFutureMs: number;
}

/** What the app checks when a code is scanned: the HMAC, then the code's age. */
export function verifyQr(qr: ParsedQr, o: QrCheckInput): QrVerdict {
  const expected = Buffer.from(qrAuthCode(o.qrStartSecret, qr.qrTime), 'hex');
  const given = Buffer.from(qr.qrAuthCode, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'qrInvalid';
  const shownAt = o.createdAt + qr.qrTime * 1000;
  if (o.now - shownAt > o.maxAgeMs) return 'qrExpired';
  if (shownAt - o.now > o.maxFutureMs) return 'qrInvalid';
  return 'ok';
}
